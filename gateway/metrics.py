"""Prometheus metrics, in the names OpenFaaS users already chart, plus pools and triggers.

Invocations are counted in pre-bound children: one `RevisionMetrics` per (function,
revision, alias), made once and kept by the invoker's resolved targets, so the hot
path does a dict increment and a histogram bisect, with no label tuple or dict built
per request. prometheus_client's own Counter and Histogram take a lock and walk label
tuples on every observation, which measured as the largest single cost of the data
plane. Everything else (pools, triggers, the HTTP server's counters) is read from its
owner when /metrics is scraped. The event loop is the only writer, so no lock is needed.

No label ever holds a request's path, query or id: series grow with functions,
revisions, aliases, answer codes and trigger partitions, never with traffic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

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
from runtime_adapters.base import PoolStatus
from runtime_adapters.histogram import Histogram
from triggers.state import Series, TriggerState

# Each running trigger's record and its state.
TriggerStates = Callable[[], Sequence[tuple[TriggerRecord, TriggerState]]]
# Every pool of every runtime, as `Runtime.status()` reports it.
PoolStates = Callable[[], Iterable[PoolStatus]]

_REVISION_LABELS = ["function_name", "revision", "alias"]
_POOL_LABELS = ["function_name", "revision"]
_TRIGGER_LABELS = ["trigger", "kind", "function_name"]


class RevisionMetrics:
    """The counters of one (function, revision, alias), which the invoker adds to per
    invocation (the dashboard reads them through `collect()`, gateway/ui/counters.py)."""

    __slots__ = ("alias", "codes", "function", "latency", "revision", "shed")

    def __init__(self, function: str, revision: int, alias: str) -> None:
        self.function = function
        self.revision = revision
        self.alias = alias
        self.codes: dict[int, int] = {}  # answer code -> invocations
        self.latency = Histogram()
        self.shed: dict[str, int] = {}  # reason -> invocations refused without running

    def observe(self, code: int, seconds: float, count: int = 1) -> None:
        """`count` invocations that answered `code` after `seconds` each (an ordered run
        is observed per answer code, not per event)."""
        codes = self.codes
        codes[code] = codes.get(code, 0) + count
        self.latency.observe(seconds, count)

    def refused(self, reason: str) -> None:
        """An invocation shed without running (PoolSaturated), by `reason`."""
        self.shed[reason] = self.shed.get(reason, 0) + 1


def _histogram_buckets(histogram: Histogram) -> list[tuple[str, float]]:
    return [
        ("+Inf" if bound == float("inf") else repr(float(bound)), count)
        for bound, count in histogram.cumulative()
    ]


class Metrics(Collector):
    def __init__(self) -> None:
        self._revisions: dict[tuple[str, int, str], RevisionMetrics] = {}
        self._trigger_sources: list[TriggerStates] = []
        self._pool_sources: list[PoolStates] = []
        self._http: list[HttpCounters] = []
        self._followers: list[Callable[[], Mapping[str, int]]] = []
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def child(self, function: str, revision: int, alias: str) -> RevisionMetrics:
        """The counters of one (function, revision, alias), made on first use and kept
        for the life of the process, as Prometheus counters must be."""
        key = (function, revision, alias)
        child = self._revisions.get(key)
        if child is None:
            child = self._revisions[key] = RevisionMetrics(function, revision, alias)
        return child

    def revisions(self) -> list[RevisionMetrics]:
        """Every (function, revision, alias) counted so far, sorted."""
        return [self._revisions[key] for key in sorted(self._revisions)]

    def add_trigger_source(self, source: TriggerStates) -> None:
        """Triggers count their own events; their counters are read at scrape time."""
        self._trigger_sources.append(source)

    def add_pool_source(self, source: PoolStates) -> None:
        """Pools count their own instances and waits; read at scrape time."""
        self._pool_sources.append(source)

    def add_log_followers(self, source: Callable[[], Mapping[str, int]]) -> None:
        """Who follows which function's logs now (`gaia logs -f`); read at scrape time."""
        self._followers.append(source)

    def add_http_counters(self, counters: HttpCounters) -> None:
        """The data plane's HTTP server counts its own refusals; read at scrape time."""
        self._http.append(counters)

    def collect(self) -> Iterator[Metric]:
        yield from self._collect_invocations()
        yield from self._collect_pools()
        yield from self._collect_http()
        yield from self._collect_triggers()

    def _collect_invocations(self) -> Iterator[Metric]:
        invocations = CounterMetricFamily(
            "gateway_function_invocation",
            "Invocations by function, revision, alias and response code",
            labels=[*_REVISION_LABELS, "code"],
        )
        seconds = HistogramMetricFamily(
            "gateway_functions_seconds",
            "Time from request to response, per function, revision and alias",
            labels=_REVISION_LABELS,
        )
        shed = CounterMetricFamily(
            "gateway_function_shed",
            "Invocations shed without running (503), by reason: expected_wait, deadline,"
            " queue_full",
            labels=[*_REVISION_LABELS, "reason"],
        )
        for child in self.revisions():
            labels = [child.function, str(child.revision), child.alias]
            for code, count in sorted(child.codes.items()):
                invocations.add_metric([*labels, str(code)], count)
            if child.codes:
                seconds.add_metric(labels, _histogram_buckets(child.latency), child.latency.total)
            for reason, count in sorted(child.shed.items()):
                shed.add_metric([*labels, reason], count)
        yield invocations
        yield seconds
        yield shed

    def _collect_pools(self) -> Iterator[Metric]:
        instances = GaugeMetricFamily(
            "gateway_pool_instances",
            "Instances of a revision by state: warm (ready, idle), busy (running"
            " invocations), starting, draining",
            labels=[*_POOL_LABELS, "state"],
        )
        service_count = GaugeMetricFamily(
            "gateway_service_count",
            "Instances of a revision, whatever their state (OpenFaaS's replica count)",
            labels=_POOL_LABELS,
        )
        in_flight = GaugeMetricFamily(
            "gateway_pool_in_flight", "Invocations running on a revision", labels=_POOL_LABELS
        )
        queue_depth = GaugeMetricFamily(
            "gateway_pool_queue_depth",
            "Invocations waiting for a free slot of a revision",
            labels=_POOL_LABELS,
        )
        cold_starts = CounterMetricFamily(
            "gateway_pool_cold_starts",
            "Instances started for a revision (warm-up, growth, replacements)",
            labels=_POOL_LABELS,
        )
        start_seconds = HistogramMetricFamily(
            "gateway_pool_cold_start_seconds",
            "Time to start an instance and load the revision into it",
            labels=_POOL_LABELS,
        )
        queue_wait = HistogramMetricFamily(
            "gateway_pool_queue_wait_seconds",
            "Time invocations that found every slot busy waited for one",
            labels=_POOL_LABELS,
        )
        pools = sorted(
            (pool for source in self._pool_sources for pool in source()),
            key=lambda pool: (pool.key.function, pool.key.revision),
        )
        for pool in pools:
            labels = [pool.key.function, str(pool.key.revision)]
            for state, count in (
                ("warm", pool.ready - pool.busy),
                ("busy", pool.busy),
                ("starting", pool.starting),
                ("draining", pool.draining),
            ):
                instances.add_metric([*labels, state], count)
            service_count.add_metric(labels, pool.instances)
            in_flight.add_metric(labels, pool.in_flight)
            queue_depth.add_metric(labels, pool.queued)
            cold_starts.add_metric(labels, pool.cold_starts)
            for family, histogram in ((start_seconds, pool.start_seconds),
                                      (queue_wait, pool.queue_wait)):  # fmt: skip
                if histogram is not None:
                    family.add_metric(labels, _histogram_buckets(histogram), histogram.total)
        yield from (instances, service_count, in_flight, queue_depth, cold_starts)
        yield from (start_seconds, queue_wait)

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
        followers = GaugeMetricFamily(
            "gateway_log_followers",
            "Clients following a function's logs now (gaia logs --follow)",
            labels=["function_name"],
        )
        for source in self._followers:
            for function, count in sorted(source().items()):
                followers.add_metric([function], count)
        yield followers

    def _collect_triggers(self) -> Iterator[Metric]:
        events = CounterMetricFamily(
            "gateway_trigger_events",
            "Events a queue trigger finished, by outcome; retried counts extra attempts",
            labels=[*_TRIGGER_LABELS, "outcome"],
        )
        lag = GaugeMetricFamily(
            "gateway_trigger_lag",
            "Events not yet acknowledged behind the newest",
            labels=_TRIGGER_LABELS,
        )
        stuck = GaugeMetricFamily(
            "gateway_trigger_stuck",
            "Partitions or subjects stopped at an event that could not be delivered",
            labels=_TRIGGER_LABELS,
        )
        # The kinds' own series, in the order they are first seen.
        own: dict[Series, CounterMetricFamily | GaugeMetricFamily] = {}
        for source in self._trigger_sources:
            for record, state in source():
                values = [record.id, record.kind, record.function]
                events.add_metric([*values, "processed"], state.processed)
                events.add_metric([*values, "retried"], state.retried)
                events.add_metric([*values, "dead_lettered"], state.dead_lettered)
                if state.lag is not None:
                    lag.add_metric(values, state.lag)
                stuck.add_metric(values, state.stuck)
                for series, labels, value in state.samples():
                    family = own.get(series)
                    if family is None:
                        family = own[series] = _family(series)
                    family.add_metric([*values, *labels], value)
        yield events
        yield lag
        yield stuck
        yield from own.values()

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _family(series: Series) -> CounterMetricFamily | GaugeMetricFamily:
    name = f"gateway_{series.name}"
    labels = [*_TRIGGER_LABELS, *series.labels]
    if series.type == "counter":
        return CounterMetricFamily(name, series.help, labels=labels)
    return GaugeMetricFamily(name, series.help, labels=labels)
