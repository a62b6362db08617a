"""/metrics as Prometheus parses it (prometheus_client's parser is the oracle)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import Metrics
from gateway.store import TriggerRecord
from runtime_adapters.base import PoolStatus, RevisionKey
from runtime_adapters.histogram import Histogram
from triggers.cron.state import CronState
from triggers.kafka.state import KafkaState
from triggers.nats.state import NatsState
from triggers.redis.state import RedisState
from triggers.state import TriggerState

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(metrics: Metrics) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(metrics.render().decode())
        for sample in family.samples
    }


def _labels(**labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))


def test_counts_and_latency_buckets_per_function_revision_alias_and_code() -> None:
    metrics = Metrics()
    child = metrics.child("hello", 2, "prod")
    assert metrics.child("hello", 2, "prod") is child, "one child per label set, kept"
    for seconds in (0.00008, 0.0004, 0.003, 0.2):
        child.observe(200, seconds)
    child.observe(500, 0.004)
    samples = _samples(metrics)
    labels = {"function_name": "hello", "revision": "2", "alias": "prod"}
    invocations = "gateway_function_invocation_total"
    assert samples[(invocations, _labels(**labels, code="200"))] == 4
    assert samples[(invocations, _labels(**labels, code="500"))] == 1
    assert samples[("gateway_functions_seconds_count", _labels(**labels))] == 5
    assert abs(samples[("gateway_functions_seconds_sum", _labels(**labels))] - 0.20748) < 1e-9

    def bucket(le: str) -> float:
        return samples[("gateway_functions_seconds_bucket", _labels(**labels, le=le))]

    # Buckets fit for sub-millisecond functions: 80 µs and 400 µs are told apart.
    assert bucket("0.0001") == 1
    assert bucket("0.00025") == 1
    assert bucket("0.0005") == 2
    assert bucket("0.005") == 4
    assert bucket("0.25") == 5
    assert bucket("+Inf") == 5
    assert [c.revision for c in metrics.revisions()] == [2]


def test_shed_invocations_are_counted_by_reason() -> None:
    metrics = Metrics()
    child = metrics.child("hello", 2, "prod")
    for reason in ("expected_wait", "expected_wait", "deadline", "queue_full"):
        child.refused(reason)
    samples = _samples(metrics)

    def shed(reason: str) -> float:
        labels = _labels(function_name="hello", revision="2", alias="prod", reason=reason)
        return samples[("gateway_function_shed_total", labels)]

    assert (shed("expected_wait"), shed("deadline"), shed("queue_full")) == (2, 1, 1)


def test_pool_instances_by_state_cold_starts_queue_depth_and_waits() -> None:
    starts, waits = Histogram(), Histogram()
    starts.observe(0.02)
    starts.observe(0.03)
    waits.observe(0.0007)
    pool = PoolStatus(
        key=RevisionKey(function="hello", revision=3),
        instances=6,
        ready=4,
        in_flight=9,
        queued=5,
        busy=3,
        starting=1,
        draining=1,
        cold_starts=7,
        start_seconds=starts,
        queue_wait=waits,
    )
    metrics = Metrics()
    metrics.add_pool_source(lambda: [pool])
    samples = _samples(metrics)
    labels = {"function_name": "hello", "revision": "3"}

    def instances(state: str) -> float:
        return samples[("gateway_pool_instances", _labels(**labels, state=state))]

    assert [instances(s) for s in ("warm", "busy", "starting", "draining")] == [1, 3, 1, 1]
    assert samples[("gateway_service_count", _labels(**labels))] == 6
    assert samples[("gateway_pool_in_flight", _labels(**labels))] == 9
    assert samples[("gateway_pool_queue_depth", _labels(**labels))] == 5
    assert samples[("gateway_pool_cold_starts_total", _labels(**labels))] == 7
    assert samples[("gateway_pool_cold_start_seconds_count", _labels(**labels))] == 2
    wait_bucket = ("gateway_pool_queue_wait_seconds_bucket", _labels(**labels, le="0.001"))
    assert samples[wait_bucket] == 1


def _trigger_labels(record: TriggerRecord, **more: str) -> tuple[tuple[str, str], ...]:
    return _labels(trigger=record.id, kind=record.kind, function_name=record.function, **more)


def test_trigger_counters_lag_and_stuck_come_from_each_triggers_typed_state() -> None:
    metrics = Metrics()
    queue = TriggerRecord(id="a/kafka/0", function="a", kind="kafka", spec={})
    ticks = TriggerRecord(id="b/cron/0", function="b", kind="cron", spec={})
    partitions = [
        {"topic": "t", "partition": 0, "lag": 10, "stuck": None},
        {"topic": "t", "partition": 1, "lag": 2, "stuck": {"offset": 4, "error": "x"}},
        {"topic": "t", "partition": 2, "lag": None, "stuck": None},
    ]
    states: list[tuple[TriggerRecord, TriggerState]] = [
        (
            queue,
            KafkaState(
                status="running",
                group="g",
                topics=["t"],
                ordering="key",
                partitions=partitions,
                processed=7,
                retried=3,
                dead_lettered=1,
                lag=12,
                stuck=1,
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
                next="2026-11-27T09:00:00.000Z",
                processed=4,
                failed=2,
                missed=1,
                last_delay_s=0.0031,
            ),
        ),
    ]
    metrics.add_trigger_source(lambda: states)
    samples = _samples(metrics)
    events = "gateway_trigger_events_total"
    assert samples[(events, _trigger_labels(queue, outcome="processed"))] == 7
    assert samples[(events, _trigger_labels(queue, outcome="retried"))] == 3
    assert samples[(events, _trigger_labels(queue, outcome="dead_lettered"))] == 1
    assert samples[("gateway_trigger_lag", _trigger_labels(queue))] == 12
    assert samples[("gateway_trigger_stuck", _trigger_labels(queue))] == 1
    lag = "gateway_kafka_partition_lag"
    assert samples[(lag, _trigger_labels(queue, topic="t", partition="0"))] == 10
    assert samples[(lag, _trigger_labels(queue, topic="t", partition="1"))] == 2
    assert (lag, _trigger_labels(queue, topic="t", partition="2")) not in samples
    stuck = "gateway_kafka_partition_stuck"
    assert samples[(stuck, _trigger_labels(queue, topic="t", partition="1"))] == 1
    assert samples[(stuck, _trigger_labels(queue, topic="t", partition="0"))] == 0
    assert samples[(events, _trigger_labels(ticks, outcome="processed"))] == 4
    assert samples[(events, _trigger_labels(ticks, outcome="dead_lettered"))] == 0
    assert ("gateway_trigger_lag", _trigger_labels(ticks)) not in samples, "no lag: no sample"
    runs = "gateway_cron_runs_total"
    assert samples[(runs, _trigger_labels(ticks, outcome="succeeded"))] == 4
    assert samples[(runs, _trigger_labels(ticks, outcome="failed"))] == 2
    assert samples[(runs, _trigger_labels(ticks, outcome="missed"))] == 1
    assert samples[(runs, _trigger_labels(ticks, outcome="skipped"))] == 0
    assert samples[("gateway_cron_delay_seconds", _trigger_labels(ticks))] == 0.0031
    next_run = samples[("gateway_cron_next_run_timestamp_seconds", _trigger_labels(ticks))]
    assert next_run == 1795770000.0
    # What a kind does not report stays out of its JSON.
    assert {"retried", "dead_lettered", "lag", "stuck"}.isdisjoint(states[1][1].to_dict())
    assert states[0][1].to_dict()["lag"] == 12


def test_jetstream_core_nats_and_redis_streams_series() -> None:
    js = TriggerRecord(id="a/nats/0", function="a", kind="nats", spec={})
    core = TriggerRecord(id="a/nats/1", function="a", kind="nats", spec={})
    stream = TriggerRecord(id="a/redis/0", function="a", kind="redis", spec={})
    states: list[tuple[TriggerRecord, TriggerState]] = [
        (
            js,
            NatsState(
                status="running",
                subject="pay.>",
                stream="PAY",
                durable="d",
                redelivered=2,
                pending=40,
                ack_pending=3,
            ),
        ),
        (core, NatsState(status="running", subject="orders.*", queue="q", lost=1)),
        (
            stream,
            RedisState(
                status="running",
                stream="s",
                group="g",
                consumer="c",
                ordering="none",
                pending=6,
                claimed=2,
            ),
        ),
    ]
    metrics = Metrics()
    metrics.add_trigger_source(lambda: states)
    samples = _samples(metrics)
    on_stream = {"stream": "PAY", "durable": "d"}
    assert samples[("gateway_jetstream_pending", _trigger_labels(js, **on_stream))] == 40
    assert samples[("gateway_jetstream_ack_pending", _trigger_labels(js, **on_stream))] == 3
    redelivered = ("gateway_jetstream_redelivered_total", _trigger_labels(js, **on_stream))
    assert samples[redelivered] == 2
    assert samples[("gateway_nats_lost_total", _trigger_labels(core, subject="orders.*"))] == 1
    in_group = {"stream": "s", "group": "g"}
    assert samples[("gateway_redis_pending", _trigger_labels(stream, **in_group))] == 6
    assert samples[("gateway_redis_claimed_total", _trigger_labels(stream, **in_group))] == 2
