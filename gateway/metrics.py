"""Prometheus metrics of invocations, in the names OpenFaaS users already chart.

Children are cached per label set: `labels()` takes a lock and builds a tuple on every
call, which the per-request path should not pay.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._invocations = Counter(
            "gateway_function_invocation",
            "Invocations by function, revision, alias and response code",
            ["function_name", "revision", "alias", "code"],
            registry=self.registry,
        )
        self._seconds = Histogram(
            "gateway_functions_seconds",
            "Time from request to response, per function",
            ["function_name", "revision", "alias"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self._counter_children: dict[tuple[str, int, str, int], Counter] = {}
        self._histogram_children: dict[tuple[str, int, str], Histogram] = {}

    def observe(self, function: str, revision: int, alias: str, code: int, seconds: float) -> None:
        key = (function, revision, alias, code)
        counter = self._counter_children.get(key)
        if counter is None:
            counter = self._invocations.labels(function, str(revision), alias, str(code))
            self._counter_children[key] = counter
        counter.inc()
        hkey = (function, revision, alias)
        histogram = self._histogram_children.get(hkey)
        if histogram is None:
            histogram = self._seconds.labels(function, str(revision), alias)
            self._histogram_children[hkey] = histogram
        histogram.observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
