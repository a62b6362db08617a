"""Traces through a real gateway: a W3C traceparent joined and carried on, and gaia[otel]
exporting its spans over OTLP/HTTP to a stub receiver process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.tracing import parse_traceparent
from tests.integration.harness import GaiaFactory, free_port, wait_for, write_function

TRACED = """
import time

def handler(event, context):
    time.sleep(float(event.query.get("s", "0")))
    return {"traceparent": context.traceparent}
"""

CONFIG = """
functions:
  traced:
    code: ./traced
    concurrency: 1
    pool: {min: 1, max: 1}
    triggers:
      - http: {path: /traced}
"""
INCOMING = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
SERVER, INTERNAL = 2, 1  # OTLP span kinds


class Receiver:
    def __init__(self, out: Path, process: subprocess.Popen[bytes], port: int) -> None:
        self.out = out
        self.process = process
        self.url = f"http://127.0.0.1:{port}"

    def spans(self) -> list[dict[str, Any]]:
        if not self.out.exists():
            return []
        return [json.loads(line) for line in self.out.read_text().splitlines()]

    def of_trace(self, trace_id: str, count: int) -> dict[str, dict[str, Any]]:
        def found() -> dict[str, dict[str, Any]] | None:
            spans = [s for s in self.spans() if s["trace_id"] == trace_id]
            return {s["name"]: s for s in spans} if len(spans) >= count else None

        return wait_for(found, what=f"{count} spans of trace {trace_id}")


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Receiver]:
    port = free_port()
    out = tmp_path / "spans.jsonl"
    argv = [sys.executable, "-m", "tests.integration.otlp_receiver", str(port), str(out)]
    process = subprocess.Popen(argv)
    stub = Receiver(out, process, port)
    wait_for(lambda: httpx.post(f"{stub.url}/nothing").status_code == 404, what="the receiver")
    yield stub
    process.kill()
    process.wait()


def test_a_traceparent_is_carried_on_and_spans_reach_an_otlp_receiver(
    tmp_path: Path, gaia_factory: GaiaFactory, receiver: Receiver
) -> None:
    write_function(tmp_path / "traced", TRACED)
    (tmp_path / "gaia.yaml").write_text(CONFIG)
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
    }
    gaia = gaia_factory(extra_env=env).start("-f", str(tmp_path / "gaia.yaml"))
    with gaia.data() as http:
        joined = http.get("/traced", headers={"traceparent": INCOMING})
        started = http.get("/traced")
        # One slot: the second of two slow requests waits for the first.
        with ThreadPoolExecutor(2) as pool:
            slow = list(pool.map(lambda _: http.get("/traced", params={"s": "0.3"}), range(2)))

    # The answer carries the trace on: same trace, the span the function ran under.
    answer = parse_traceparent(joined.headers["traceparent"])
    assert answer is not None and answer.sampled
    assert answer.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert answer.span_id != "00f067aa0ba902b7"
    assert joined.json() == {"traceparent": joined.headers["traceparent"]}

    spans = receiver.of_trace(answer.trace_id, 2)
    dispatch, run = spans["gaia.dispatch"], spans["gaia.function"]
    assert dispatch["parent_span_id"] == "00f067aa0ba902b7" and dispatch["kind"] == SERVER
    assert run["span_id"] == answer.span_id and run["parent_span_id"] == dispatch["span_id"]
    assert run["kind"] == INTERNAL
    assert dispatch["start"] <= run["start"] <= run["end"] <= dispatch["end"]
    assert dispatch["service"] == "gaia" and dispatch["scope"] == "gaia"
    assert dispatch["resource"]["deployment.environment"] == "test"
    assert dispatch["attributes"] == {
        "gaia.function": "traced",
        "gaia.revision": 1,
        "gaia.alias": "default",
        "gaia.trigger": "http",
        "gaia.request_id": joined.headers["x-request-id"],
        "gaia.status": 200,
    }

    # Without a traceparent the exporting gateway starts a trace: the root is its own.
    fresh = parse_traceparent(started.headers["traceparent"])
    assert fresh is not None and fresh.trace_id != answer.trace_id
    assert receiver.of_trace(fresh.trace_id, 2)["gaia.dispatch"]["parent_span_id"] == ""

    # The request that waited for the one slot has a queue wait span as long as its wait.
    waits = []
    for response in slow:
        trace = parse_traceparent(response.headers["traceparent"])
        assert trace is not None
        waits.append(receiver.of_trace(trace.trace_id, 2).get("gaia.queue_wait"))
    [waited] = [wait for wait in waits if wait is not None]
    assert waited["end"] - waited["start"] >= 0.2e9, "about the first request's 0.3 s"

    # Without an exporter a trace is still joined and carried on, and nothing else starts one.
    plain = gaia_factory("plain").start("-f", str(tmp_path / "gaia.yaml"))
    with plain.data() as http:
        carried = http.get("/traced", headers={"traceparent": INCOMING})
        untraced = http.get("/traced")
        refused = http.get("/traced", headers={"traceparent": INCOMING.upper()})
    trace = parse_traceparent(carried.headers["traceparent"])
    assert trace is not None and trace.trace_id == answer.trace_id
    assert "traceparent" not in untraced.headers and untraced.json() == {"traceparent": None}
    assert "traceparent" not in refused.headers, "an invalid header starts nothing"


def test_otlp_over_grpc_is_refused_at_start(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
    }
    gaia = gaia_factory(extra_env=env).start(wait=False)
    assert gaia.process is not None
    assert gaia.process.wait(60) == 1
    assert "OTEL_EXPORTER_OTLP_PROTOCOL=grpc: gaia exports OTLP over HTTP" in gaia.logs()
