"""What the admin API and the CLI agree on besides JSON, in a module that imports nothing,
so the CLI starts without loading the admin app."""

from __future__ import annotations

# A publish streams its stages as JSON lines when asked for this media type.
NDJSON = "application/x-ndjson"
