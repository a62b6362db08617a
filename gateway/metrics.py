"""Prometheus metrics of invocations, in the names OpenFaaS users already chart.

Counts live in plain dicts and are turned into metric families only when scraped:
prometheus_client's own Counter and Histogram take a lock and walk label tuples on
every observation, which measured as the largest single cost of the data plane.
The event loop is the only writer, so no lock is needed here.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from gateway.http.limits import HttpCounters
from gateway.store import TriggerRecord
from triggers.state import TriggerState

# Each running trigger's record and its state.
TriggerStates = Callable[[], Sequence[tuple[TriggerRecord, TriggerState]]]

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


_LABELS = tuple(repr(float(bound)) for bound in BUCKETS)


class _Histogram:
    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)  # the last slot is +Inf
        self.total = 0.0


class Metrics(Collector):
    def __init__(self) -> None:
        self._invocations: dict[tuple[str, int, str, int], int] = {}
        self._latency: dict[tuple[str, int, str], _Histogram] = {}
        self._shed: dict[tuple[str, int, str, str], int] = {}
        self._trigger_sources: list[TriggerStates] = []
        self._http: list[HttpCounters] = []
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def add_trigger_source(self, source: TriggerStates) -> None:
        """Triggers count their own events; their counters are read at scrape time."""
        self._trigger_sources.append(source)

    def add_http_counters(self, counters: HttpCounters) -> None:
        """The data plane's HTTP server counts its own refusals; read at scrape time."""
        self._http.append(counters)

    def observe(
        self, function: str, revision: int, alias: str, code: int, seconds: float, *, count: int = 1
    ) -> None:
        """`count` invocations that answered `code` after `seconds` each (an ordered run
        is observed per answer code, not per event)."""
        key = (function, revision, alias, code)
        self._invocations[key] = self._invocations.get(key, 0) + count
        histogram = self._latency.get(key[:3])
        if histogram is None:
            histogram = self._latency[key[:3]] = _Histogram()
        histogram.counts[bisect_left(BUCKETS, seconds)] += count
        histogram.total += seconds * count

    def shed(self, function: str, revision: int, alias: str, reason: str) -> None:
        """An invocation refused without running (PoolSaturated), by `reason`."""
        key = (function, revision, alias, reason)
        self._shed[key] = self._shed.get(key, 0) + 1

    def collect(self) -> Iterator[Metric]:
        invocations = CounterMetricFamily(
            "gateway_function_invocation",
            "Invocations by function, revision, alias and response code",
            labels=["function_name", "revision", "alias", "code"],
        )
        for (function, revision, alias, code), count in sorted(self._invocations.items()):
            invocations.add_metric([function, str(revision), alias, str(code)], count)
        yield invocations
        seconds = HistogramMetricFamily(
            "gateway_functions_seconds",
            "Time from request to response, per function",
            labels=["function_name", "revision", "alias"],
        )
        for (function, revision, alias), histogram in sorted(self._latency.items()):
            cumulative, buckets = 0, []
            for bound, count in zip((*_LABELS, "+Inf"), histogram.counts, strict=True):
                cumulative += count
                buckets.append((bound, cumulative))
            seconds.add_metric([function, str(revision), alias], buckets, histogram.total)
        yield seconds
        shed = CounterMetricFamily(
            "gateway_function_shed",
            "Invocations shed without running (503), by reason: expected_wait, deadline,"
            " queue_full",
            labels=["function_name", "revision", "alias", "reason"],
        )
        for (function, revision, alias, reason), count in sorted(self._shed.items()):
            shed.add_metric([function, str(revision), alias, reason], count)
        yield shed
        yield from self._collect_http()
        yield from self._collect_triggers()

    def _collect_http(self) -> Iterator[Metric]:
        refused = CounterMetricFamily(
            "gateway_http_refused",
            "Requests the data plane's HTTP server refused before the gateway saw them:"
            " header_timeout (408), header_too_large (431), too_many_connections (503),"
            " bad_request (400)",
            labels=["reason"],
        )
        connections = GaugeMetricFamily(
            "gateway_http_connections", "Open connections to the data plane"
        )
        spliced = CounterMetricFamily(
            "gateway_http_spliced",
            "Requests the data plane passed straight to an upstream connection, without"
            " an ASGI cycle (the legacy proxy's plain requests)",
        )
        for counters in self._http:
            for reason, count in counters.refused.items():
                refused.add_metric([reason], count)
            connections.add_metric([], len(counters.connections))
            spliced.add_metric([], counters.spliced)
        yield refused
        yield connections
        yield spliced

    def _collect_triggers(self) -> Iterator[Metric]:
        labels = ["trigger", "kind", "function_name"]
        events = CounterMetricFamily(
            "gateway_trigger_events",
            "Events a queue trigger finished, by outcome; retried counts extra attempts",
            labels=[*labels, "outcome"],
        )
        lag = GaugeMetricFamily(
            "gateway_trigger_lag", "Events not yet acknowledged behind the newest", labels=labels
        )
        stuck = GaugeMetricFamily(
            "gateway_trigger_stuck",
            "Partitions or subjects stopped at an event that could not be delivered",
            labels=labels,
        )
        for source in self._trigger_sources:
            for record, state in source():
                values = [record.id, record.kind, record.function]
                events.add_metric([*values, "processed"], state.processed)
                events.add_metric([*values, "retried"], state.retried)
                events.add_metric([*values, "dead_lettered"], state.dead_lettered)
                if state.lag is not None:
                    lag.add_metric(values, state.lag)
                stuck.add_metric(values, state.stuck)
        yield events
        yield lag
        yield stuck

    def render(self) -> bytes:
        return generate_latest(self.registry)
