"""The dashboard at /ui on the admin listener: its static files, the sampler of per-revision
figures, and the stream (`GET /v1/dashboard`) that keeps the page live.

The admin API's endpoint table names this package's models, and they build on the admin
API's own: importing the admin package first settles the two in one order, whichever of
them a program imports first.
"""

import gateway.admin  # noqa: F401
