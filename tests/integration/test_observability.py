"""Metrics and trace headers of every trigger kind through one real gateway and real
brokers (tansu, nats-server, redis-server): Kafka lag per partition, JetStream pending,
cron runs and delay, dead letters and retries, answers carrying the trace on; label
cardinality under traffic to many paths; and the Grafana dashboard's queries against
what this gateway exports. One gateway serves every test here, to keep them quick."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from gateway.tracing import parse_traceparent
from tests.brokers.nats import NatsServer
from tests.brokers.redis import RedisServer
from tests.brokers.tansu import Tansu
from tests.deploy.grafana import dashboard_metric_names
from tests.integration.harness import Gaia, trigger_state, wait_for, write_function
from tests.triggers.kafka.kit import new_topic, produce, read, topic_name
from tests.triggers.kit import eventually
from tests.triggers.nats.kit import connected, listen, unique

README = Path(__file__).resolve().parents[2] / "README.md"
OBSERVED = """
def handler(event, context):
    data = getattr(event, "data", None)
    if data == "poison":
        raise ValueError("poison pill")
    if data == "flaky" and context.request_id.endswith("#1"):
        raise ValueError("flaky on its first attempt")
    return {"traceparent": context.traceparent, "trigger": context.trigger}
"""

# Three traces, one per kind of message that carries one.
KAFKA_TRACE = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
NATS_TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
REDIS_TRACE = "00-11111111111111111111111111111111-2222222222222222-00"

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@dataclass(frozen=True, kw_only=True)
class Observed:
    gaia: Gaia
    topic: str
    kafka_answers: list[Any]
    nats_replies: list[Any]
    nats_letters: list[Any]
    redis_replies: list[dict[bytes, bytes]]
    stream: str
    durable: str


def _metrics(gaia: Gaia) -> str:
    with gaia.admin() as admin:
        return admin.get("/metrics").text


def samples(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(gaia: Gaia, name: str, **labels: str) -> float | None:
    wanted = labels.items()
    for (sample, found), value in samples(_metrics(gaia)).items():
        if sample == name and wanted <= set(found):
            return value
    return None


@pytest.fixture(scope="module")
def observed(
    tmp_path_factory: pytest.TempPathFactory,
    tansu: Tansu,
    nats_server: NatsServer,
    redis_server: RedisServer,
) -> Iterator[Observed]:
    root = tmp_path_factory.mktemp("observed")
    write_function(root / "obs", OBSERVED)
    topic = asyncio.run(new_topic(tansu.bootstrap, "obs", partitions=2))
    answers = topic_name("obs-answers")
    subject, reply, dead = unique("obs.pay."), unique("obs.done."), unique("obs.dead.")
    stream, durable = unique("OBS"), "obs-durable"
    entries, replies = f"obs:{uuid.uuid4().hex[:8]}", f"obs:done:{uuid.uuid4().hex[:8]}"
    (root / "gaia.yaml").write_text(
        f"""
functions:
  obs:
    code: ./obs
    triggers:
      - kafka:
          brokers: {tansu.bootstrap}
          topic: {topic}
          start: earliest
          session_timeout: 2s
          retries: 1
          backoff: {{initial: 10ms, max: 60s}}
          response_topic: {answers}
      - nats:
          servers: {nats_server.url}
          subject: {subject}
          retries: 1
          backoff: {{initial: 10ms, max: 50ms}}
          dead_letter: {dead}
          reply_subject: {reply}
          jetstream: {{stream: {stream}, durable: {durable}, ack_wait: 2s}}
      - redis: {{url: "{redis_server.url}", stream: "{entries}", start: earliest,
                 reply_stream: "{replies}"}}
      - cron: {{schedule: "@every 1s"}}
      - http: {{path: "/items/{{id}}"}}
      - nats: {{servers: {nats_server.url}, subject: {unique("obs.core.")}}}
"""
    )
    gaia = Gaia(root / "home").start("-f", str(root / "gaia.yaml"))
    try:

        def running(trigger: str) -> bool:
            return bool(trigger_state(gaia, trigger)["status"] == "running")

        for trigger in ("obs/kafka/0", "obs/nats/1", "obs/redis/2", "obs/nats/5"):
            wait_for(partial(running, trigger), what=f"{trigger} running")
        traced = [("traceparent", KAFKA_TRACE.encode())]
        asyncio.run(produce(tansu.bootstrap, topic, [(b"a", b'"ok"')], headers=traced, partition=0))
        asyncio.run(produce(tansu.bootstrap, topic, [(b"b", b'"flaky"')], partition=0))
        asyncio.run(produce(tansu.bootstrap, topic, [(b"c", b'"poison"')], partition=1))
        kafka_answers = asyncio.run(read(tansu.bootstrap, answers, count=2))

        async def over_nats() -> tuple[list[Any], list[Any]]:
            async with connected(nats_server.url) as nc:
                got, letters = await listen(nc, reply), await listen(nc, dead)
                js = nc.jetstream()
                await js.publish(subject, b'"ok"', headers={"traceparent": NATS_TRACE})
                await js.publish(subject, b'"poison"')
                await eventually(lambda: got and letters, within=30, what="answer, dead letter")
                return got, letters

        nats_replies, nats_letters = asyncio.run(over_nats())
        client = redis.Redis.from_url(redis_server.url)
        client.xadd(entries, {"data": '"ok"', "traceparent": REDIS_TRACE})

        def answered() -> list[dict[bytes, bytes]]:
            entries: Any = client.xrange(replies)
            return [fields for _, fields in entries]

        redis_replies = wait_for(answered, what="the redis answer")
        client.close()
        yield Observed(
            gaia=gaia,
            topic=topic,
            kafka_answers=kafka_answers,
            nats_replies=nats_replies,
            nats_letters=nats_letters,
            redis_replies=redis_replies,
            stream=stream,
            durable=durable,
        )
    finally:
        gaia.kill()


def _carried(header: bytes | str, incoming: str, body: bytes) -> None:
    """The answer's traceparent: the incoming trace, the function's own span, which is
    also what the function saw as context.traceparent."""
    text = header.decode() if isinstance(header, bytes) else header
    answer, sent = parse_traceparent(text), parse_traceparent(incoming)
    assert answer is not None and sent is not None, text
    assert (answer.trace_id, answer.flags) == (sent.trace_id, sent.flags)
    assert answer.span_id != sent.span_id
    assert json.loads(body)["traceparent"] == text


def test_answers_of_every_queue_trigger_carry_the_trace_on(observed: Observed) -> None:
    traced = [r for r in observed.kafka_answers if dict(r.headers).get("traceparent")]
    [kafka] = traced
    _carried(dict(kafka.headers)["traceparent"], KAFKA_TRACE, kafka.value)
    untraced = [r for r in observed.kafka_answers if r not in traced]
    assert [json.loads(r.value)["traceparent"] for r in untraced] == [None]
    [nats_reply] = observed.nats_replies
    _carried(nats_reply.headers["traceparent"], NATS_TRACE, nats_reply.data)
    [entry] = observed.redis_replies
    _carried(entry[b"traceparent"], REDIS_TRACE, entry[b"data"])


def test_trigger_metrics_per_partition_stream_and_schedule(observed: Observed) -> None:
    gaia, topic = observed.gaia, observed.topic
    kafka = {"trigger": "obs/kafka/0", "topic": topic}
    # The poison record stops partition 1 (no dead letter): it shows there, and only there.
    wait_for(
        lambda: _value(gaia, "gateway_kafka_partition_stuck", partition="1", **kafka) == 1,
        what="partition 1 stuck",
    )
    assert (_value(gaia, "gateway_kafka_partition_lag", partition="1", **kafka) or 0) >= 1
    wait_for(
        lambda: _value(gaia, "gateway_kafka_partition_lag", partition="0", **kafka) == 0,
        what="partition 0 caught up",
    )
    assert _value(gaia, "gateway_kafka_partition_stuck", partition="0", **kafka) == 0
    events = "gateway_trigger_events_total"
    assert _value(gaia, events, trigger="obs/kafka/0", outcome="retried") == 1, "flaky, once"
    # JetStream: the poison message was redelivered once, then dead-lettered.
    assert len(observed.nats_letters) == 1
    nats = {"trigger": "obs/nats/1"}
    wait_for(lambda: _value(gaia, events, outcome="dead_lettered", **nats) == 1, what="dead letter")
    consumer = {"stream": observed.stream, "durable": observed.durable, **nats}
    assert _value(gaia, "gateway_jetstream_redelivered_total", **consumer) == 1
    wait_for(lambda: _value(gaia, "gateway_jetstream_pending", **consumer) == 0, what="pending 0")
    assert _value(gaia, "gateway_jetstream_ack_pending", **consumer) is not None
    assert _value(gaia, "gateway_redis_pending", trigger="obs/redis/2") is not None
    # Cron: each tick's outcome and how late it started.
    cron = {"trigger": "obs/cron/3"}
    wait_for(
        lambda: (_value(gaia, "gateway_cron_runs_total", outcome="succeeded", **cron) or 0) >= 1,
        what="a cron run",
    )
    delay = _value(gaia, "gateway_cron_delay_seconds", **cron)
    assert delay is not None and 0 <= delay < 1
    assert (_value(gaia, "gateway_cron_next_run_timestamp_seconds", **cron) or 0) > 1.7e9
    # The pool that ran all of it, and its invocations by trigger's revision and alias.
    pool = {"function_name": "obs", "revision": "1"}
    assert (_value(gaia, "gateway_pool_cold_starts_total", **pool) or 0) >= 1
    warm = _value(gaia, "gateway_pool_instances", state="warm", **pool) or 0
    busy = _value(gaia, "gateway_pool_instances", state="busy", **pool) or 0
    assert warm + busy >= 1
    invocations = _value(gaia, "gateway_function_invocation_total", code="500", **pool)
    assert (invocations or 0) >= 3, "poison twice on Kafka, twice on NATS, flaky once"


def test_no_label_takes_a_request_path_however_many_paths_are_asked(observed: Observed) -> None:
    gaia = observed.gaia
    with gaia.data() as http:
        for n in range(10):
            assert http.get(f"/items/{n}").status_code == 200
        before = samples(_metrics(gaia))
        marks = [uuid.uuid4().hex for _ in range(150)]
        for mark in marks:
            assert http.get(f"/items/{mark}", params={"q": mark}).status_code == 200
            assert http.get(f"/nowhere/{mark}").status_code == 404
    after = samples(_metrics(gaia))

    def http_series(found: Samples) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        # Trigger state and cron ticks move on their own; HTTP traffic's series are the
        # invocation, latency and shed families.
        return {key for key in found if key[0].startswith(("gateway_function", "gateway_http"))}

    assert http_series(after) == http_series(before), "300 new paths, no new series"
    values = {value for _, labels in after for _, value in labels}
    assert not any(mark in value for mark in marks for value in values)
    assert not any(value.startswith(("/items", "/nowhere")) for value in values)
    assert {name for _, labels in after for name, _ in labels}.isdisjoint(
        {"path", "route", "url", "request_id", "method"}
    )


def test_the_admin_status_shows_pools_by_state(observed: Observed) -> None:
    with observed.gaia.admin() as admin:
        pools = admin.get("/v1/status").json()["pools"]
    [pool] = [p for p in pools if p["revision"] == "obs@1"]
    assert pool["cold_starts"] >= 1 and pool["starting"] == 0
    assert 0 <= pool["busy"] <= pool["ready"] <= pool["instances"]
    shown = observed.gaia.cli("status")
    assert shown.returncode == 0, shown.stderr
    header = next(line for line in shown.stdout.splitlines() if "COLD STARTS" in line)
    assert header.split() == [
        "REVISION", "INSTANCES", "READY", "BUSY", "STARTING", "IN", "FLIGHT", "QUEUED", "COLD",
        "STARTS",
    ]  # fmt: skip
    row = next(line for line in shown.stdout.splitlines() if line.lstrip().startswith("obs@1"))
    assert int(row.split()[-1]) == pool["cold_starts"]


def test_the_grafana_dashboard_asks_only_for_metrics_this_gateway_exports(
    observed: Observed,
) -> None:
    exported = {family.name for family in text_string_to_metric_families(_metrics(observed.gaia))}
    # The parser names counters without _total and histograms without their suffixes.
    series = {
        name + suffix
        for name in exported
        for suffix in ("", "_total", "_bucket", "_count", "_sum", "_created")
    }
    missing = dashboard_metric_names() - series
    assert not missing, f"the dashboard asks for metrics gaia does not export: {missing}"


def test_every_metric_the_readme_documents_is_exported(observed: Observed) -> None:
    section = README.read_text().split("### Metrics", 1)[1].split("\n### ", 1)[0]
    documented = set(re.findall(r"`(gateway_[a-z_]+)", section))
    assert len(documented) >= 25, documented
    exported = {family.name for family in text_string_to_metric_families(_metrics(observed.gaia))}
    # The parser names a counter without its _total.
    missing = {name for name in documented if name.removesuffix("_total") not in exported}
    assert not missing, f"documented, not exported: {missing}"
