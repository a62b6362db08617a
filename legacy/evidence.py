"""What each ledger route has shown since it entered its state: the gates' evidence.

The router records into a `RouteEvidence` per ledger route; a change of the route's
state, percent or function starts a fresh one, so both sides' figures always cover the
same window, the time in the current state. The JSON paths learned as noise describe
the old API, not the state, so they carry over to the fresh window.

`EvidenceBook` is what the rest of the gateway reads (`ports.Observations`): the
routes' evidence, the discovery table (requests no ledger route matched), and totals
since the gateway started.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from legacy.discovery.table import DiscoveryTable
from legacy.noise import RouteNoise
from legacy.ports import DiscoveredRoute, Evidence, Mismatch, SideFigures
from legacy.quantiles import LatencyHistogram


def is_error(status: int) -> bool:
    """Errors on either side: 5xx answers (502/504 stand for an old API that failed, and
    a function that gave no answer is answered 5xx too)."""
    return status >= 500


def rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


class SideTally:
    __slots__ = ("errors", "latency", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.latency = LatencyHistogram()

    def record(self, status: int, duration_s: float) -> None:
        self.requests += 1
        if is_error(status):
            self.errors += 1
        self.latency.add(duration_s)

    def figures(self) -> SideFigures:
        p50 = self.latency.quantile(0.5)
        p99 = self.latency.quantile(0.99)
        return SideFigures(
            requests=self.requests,
            errors=self.errors,
            error_rate=rate(self.errors, self.requests),
            p50_ms=None if p50 is None else p50 * 1000,
            p99_ms=None if p99 is None else p99 * 1000,
        )


class RouteEvidence:
    """One ledger route's window; the router and the shadow workers record into it."""

    def __init__(self, *, since: float, noise: RouteNoise | None = None) -> None:
        self.since = since
        self.requests = 0
        self.served_by_function = 0
        self.legacy = SideTally()
        self.function = SideTally()
        self.samples = 0
        self.mismatches = 0
        self.shadow_dropped = 0
        self.shadow_skipped = 0
        self.noise = noise if noise is not None else RouteNoise()
        self.example: Mismatch | None = None

    def compared(self, differences: Sequence[str], *, request: str, at: float) -> None:
        """One shadow comparison; the latest mismatch is kept as the example."""
        self.samples += 1
        if differences:
            self.mismatches += 1
            self.example = Mismatch(request=request, differences=tuple(differences), at=at)

    def snapshot(self) -> Evidence:
        return Evidence(
            since=self.since,
            requests=self.requests,
            served_by_function=self.served_by_function,
            legacy=self.legacy.figures(),
            function=self.function.figures(),
            samples=self.samples,
            mismatches=self.mismatches,
            mismatch_rate=rate(self.mismatches, self.samples),
            shadow_dropped=self.shadow_dropped,
            shadow_skipped=self.shadow_skipped,
            noise_paths=self.noise.paths(),
            example=self.example,
        )


class EvidenceBook:
    """`ports.Observations` over the routes' windows, discovery and the totals."""

    def __init__(self, discovery: DiscoveryTable) -> None:
        self._routes: dict[str, RouteEvidence] = {}
        self._discovery = discovery
        self.requests = 0
        self.served_by_function = 0

    def start(self, path: str, *, since: float) -> RouteEvidence:
        """A fresh window for the route at `path`, keeping the noise it learned."""
        previous = self._routes.get(path)
        window = RouteEvidence(since=since, noise=previous.noise if previous else None)
        self._routes[path] = window
        return window

    def keep_only(self, paths: Iterable[str]) -> None:
        """Forget routes the ledger no longer has."""
        kept = set(paths)
        for path in [p for p in self._routes if p not in kept]:
            del self._routes[path]

    def unmatched(self, method: str, path: str, status: int, duration_s: float) -> None:
        """A request no ledger route matched: discovery's. Positional, so the router's
        splice calls it (and it the table) at C level, compiled."""
        self.requests += 1
        self._discovery.observe(method, path, status, duration_s, is_error(status))

    def answered_by_legacy(self, window: RouteEvidence, status: int, duration_s: float) -> None:
        """A request of a ledger route the old API answered: `matched` and the old API's
        side of the window in one call, since every such request makes it."""
        window.legacy.record(status, duration_s)
        self.requests += 1
        window.requests += 1

    def matched(self, window: RouteEvidence, *, by_function: bool) -> None:
        self.requests += 1
        window.requests += 1
        if by_function:
            self.served_by_function += 1
            window.served_by_function += 1

    # ports.Observations

    def evidence(self, path: str) -> Evidence | None:
        window = self._routes.get(path)
        return window.snapshot() if window is not None else None

    def discovered(self) -> list[DiscoveredRoute]:
        return self._discovery.routes()

    def totals(self) -> tuple[int, int]:
        return self.requests, self.served_by_function
