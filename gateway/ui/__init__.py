"""The dashboard at /ui on the admin listener: its static files, the sampler of per-revision
figures, and the stream (`GET /v1/dashboard`) that keeps the page live.

Kept free of imports, so the admin app can load its parts without a cycle.
"""
