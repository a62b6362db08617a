from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import Metrics
from gateway.store import TriggerRecord
from triggers.cron.state import CronState
from triggers.kafka.state import KafkaState
from triggers.state import TriggerState


def _samples(metrics: Metrics) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    }


def test_counts_and_latency_buckets_per_function_revision_alias_and_code() -> None:
    metrics = Metrics()
    for seconds in (0.0004, 0.003, 0.2):
        metrics.observe("hello", 2, "prod", 200, seconds)
    metrics.observe("hello", 2, "prod", 500, 0.004)
    samples = _samples(metrics)
    labels = (("alias", "prod"), ("function_name", "hello"), ("revision", "2"))
    assert (
        samples[("gateway_function_invocation_total", (*labels[:1], ("code", "200"), *labels[1:]))]
        == 3
    )
    assert (
        samples[("gateway_function_invocation_total", (*labels[:1], ("code", "500"), *labels[1:]))]
        == 1
    )
    assert samples[("gateway_functions_seconds_count", labels)] == 4
    assert abs(samples[("gateway_functions_seconds_sum", labels)] - 0.2074) < 1e-9

    def bucket(le: str) -> float:
        return samples[("gateway_functions_seconds_bucket", tuple(sorted((*labels, ("le", le)))))]

    assert bucket("0.0005") == 1
    assert bucket("0.005") == 3
    assert bucket("0.25") == 4
    assert bucket("+Inf") == 4


def test_trigger_counters_lag_and_stuck_come_from_each_triggers_typed_state() -> None:
    metrics = Metrics()
    queue = TriggerRecord(id="a/kafka/0", function="a", kind="kafka", spec={})
    ticks = TriggerRecord(id="b/cron/0", function="b", kind="cron", spec={})
    states: list[tuple[TriggerRecord, TriggerState]] = [
        (
            queue,
            KafkaState(
                status="running",
                group="g",
                topics=["t"],
                ordering="key",
                processed=7,
                retried=3,
                dead_lettered=1,
                lag=12,
                stuck=2,
            ),
        ),
        (
            ticks,
            CronState(
                status="running",
                schedule="@hourly",
                timezone="UTC",
                lease="local",
                replica="r",
                next=None,
                processed=4,
            ),
        ),
    ]
    metrics.add_trigger_source(lambda: states)
    samples = _samples(metrics)

    def labels(record: TriggerRecord, **more: str) -> tuple[tuple[str, str], ...]:
        keys = {"trigger": record.id, "kind": record.kind, "function_name": record.function}
        return tuple(sorted({**keys, **more}.items()))

    events = "gateway_trigger_events_total"
    assert samples[(events, labels(queue, outcome="processed"))] == 7
    assert samples[(events, labels(queue, outcome="retried"))] == 3
    assert samples[(events, labels(queue, outcome="dead_lettered"))] == 1
    assert samples[("gateway_trigger_lag", labels(queue))] == 12
    assert samples[("gateway_trigger_stuck", labels(queue))] == 2
    assert samples[(events, labels(ticks, outcome="processed"))] == 4
    assert samples[(events, labels(ticks, outcome="dead_lettered"))] == 0
    assert ("gateway_trigger_lag", labels(ticks)) not in samples, "no lag known: no sample"
    # What a kind does not report stays out of its JSON.
    assert {"retried", "dead_lettered", "lag", "stuck"}.isdisjoint(states[1][1].to_dict())
    assert states[0][1].to_dict()["lag"] == 12


def test_shed_invocations_are_counted_by_reason() -> None:
    metrics = Metrics()
    for reason in ("expected_wait", "expected_wait", "deadline", "queue_full"):
        metrics.shed("hello", 2, "prod", reason)
    samples = _samples(metrics)

    def shed(reason: str) -> float:
        labels = {"function_name": "hello", "revision": "2", "alias": "prod", "reason": reason}
        return samples[("gateway_function_shed_total", tuple(sorted(labels.items())))]

    assert (shed("expected_wait"), shed("deadline"), shed("queue_full")) == (2, 1, 1)
