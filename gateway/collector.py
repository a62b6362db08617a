"""Garbage-collector settings for a gateway under load.

With many requests in flight (500 connections against 32 slots), each request's
objects live long enough to survive young collections, so CPython's default
threshold (a collection every 700 net allocations) ran about 30 young and several
older collections a second, and a full one paused the loop for 150 ms walking every
module and config object loaded at startup: together about a tenth of the gateway's
CPU, measured at 500 connections, against almost none at 32. Reference counting frees
nearly everything a request makes; the collector only has cycles to find, which are
rare here, so it can run far less often. Objects alive once the gateway is serving
(modules, config, routes) are moved out of its reach with `gc.freeze()`.
"""

from __future__ import annotations

import gc

# Net container allocations between young collections (CPython's default: 700).
YOUNG_THRESHOLD = 20_000


def tune_for_serving() -> None:
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)


def freeze_startup_objects() -> None:
    """Call once started: what exists now lives as long as the process."""
    gc.collect()
    gc.freeze()
