"""The old API's routes as its proxied traffic shows them, in bounded memory.

Each request is counted under its path's pattern (`patterns.pattern_of`): its method,
whether it failed (a 5xx answer, or an upstream that could not be asked or timed out),
and its latency. The table holds at most `limit` patterns, first come first kept; any
later pattern, and a path no pattern can match, is counted under the one `{other}` row,
so every request stays in the totals and the shares add up to 1.

Every request no ledger route matches is observed here, so table.pxd compiles it (when
the build finds Cython; see setup.py): the table and its rows as C structs, `observe`
called at C level from the evidence book, its checks and counts in C.
"""

from __future__ import annotations

import math

from legacy.discovery.patterns import NoPattern, pattern_of
from legacy.ports import DiscoveredRoute
from legacy.quantiles import LatencyHistogram

OTHER = "{other}"
DEFAULT_LIMIT = 1000
# Paths whose row is remembered: the same paths come again and again, and finding a
# pattern takes a few regexes per segment. Forgotten all at once when full.
PATHS_REMEMBERED = 4096
# Methods counted per pattern; a client may send any token as a method, so the rest are
# counted together under `{other}` as well.
METHODS_LIMIT = 16


class _Row:
    __slots__ = ("errors", "latency", "methods", "pattern", "requests")

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        self.methods: dict[str, int] = {}
        self.requests = 0
        self.errors = 0
        self.latency = LatencyHistogram()


class DiscoveryTable:
    __slots__ = ("_paths", "_rows", "limit", "total")

    def __init__(self, *, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"a discovery table holds at least 1 pattern, got limit {limit}")
        self.limit = limit
        self.total = 0
        self._rows: dict[str, _Row] = {}
        # A path's row, not just its pattern: rows are never dropped, so the row a
        # pattern was first counted under (its own, or `{other}` past the limit) stays
        # its row, and a request seen before costs one lookup.
        self._paths: dict[str, _Row] = {}

    def observe(self, method: str, path: str, status: int, duration_s: float, failed: bool) -> str:
        """Count one proxied request; the pattern (or `{other}`) it was counted under."""
        if not 100 <= status <= 599:
            raise ValueError(f"expected an HTTP status from 100 to 599, got {status!r}")
        if not (math.isfinite(duration_s) and duration_s >= 0):
            raise ValueError(f"expected a duration of 0 seconds or more, got {duration_s!r}")
        row = self._paths.get(path)
        if row is None:
            row = self._row(path)
        methods = row.methods
        count = methods.get(method)
        if count is None:
            if len(methods) >= METHODS_LIMIT:
                method = OTHER
                count = methods.get(OTHER, 0)
            else:
                count = 0
        methods[method] = count + 1
        row.requests += 1
        row.errors += failed or status >= 500
        row.latency.add(duration_s)
        self.total += 1
        return row.pattern

    def _row(self, path: str) -> _Row:
        try:
            pattern = pattern_of(path)
        except NoPattern:
            pattern = OTHER
        row = self._rows.get(pattern)
        if row is None:
            # `{other}` is not one of the `limit` patterns: it takes what they cannot.
            known = len(self._rows) - (OTHER in self._rows)
            pattern = pattern if known < self.limit else OTHER
            row = self._rows.setdefault(pattern, _Row(pattern))
        if len(self._paths) >= PATHS_REMEMBERED:
            self._paths.clear()
        self._paths[path] = row
        return row

    def routes(self) -> list[DiscoveredRoute]:
        """Every pattern, most traffic first (ties by pattern)."""
        found = [
            DiscoveredRoute(
                pattern=pattern,
                methods=dict(sorted(row.methods.items())),
                requests=row.requests,
                share=row.requests / self.total,
                error_rate=row.errors / row.requests,
                p50_ms=_ms(row.latency.quantile(0.5)),
                p99_ms=_ms(row.latency.quantile(0.99)),
            )
            for pattern, row in self._rows.items()
        ]
        return sorted(found, key=lambda route: (-route.requests, route.pattern))


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
