"""W3C traceparent parsing against OpenTelemetry's own propagator, and the gateway's spans
through the SDK's in-memory exporter."""

from __future__ import annotations

import random
import string
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry import trace as otel_trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanContext, SpanKind, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from gateway.otel import OtlpExporter, TracingUnavailable, exporter_from_env
from gateway.tracing import Trace, Tracer, event_traceparent, parse_traceparent

HEX = "0123456789abcdef"


def _field(rng: random.Random, size: int) -> str:
    """Mostly a well-formed id; sometimes all zero, upper case, or a digit off."""
    roll = rng.random()
    if roll < 0.75:
        return "".join(rng.choice(HEX) for _ in range(size))
    if roll < 0.85:
        return "0" * size
    if roll < 0.93:
        return "".join(rng.choice(HEX + "ABCDEF") for _ in range(size))
    return "".join(rng.choice(HEX) for _ in range(size + rng.choice((-1, 1))))


def _headers(count: int, seed: int = 16) -> list[str]:
    rng = random.Random(seed)
    headers = []
    for _ in range(count):
        version = rng.choice(["00"] * 6 + ["01", "cc", "fe", "ff", "0", "000", "0A"])
        rest = rng.choice([""] * 6 + ["-", "-extra", "-what-ever", "x"])
        pad, end = rng.choice(["", "", " ", "\t"]), rng.choice(["", "", " ", "\t"])
        flags = rng.choice(["00", "01", "01", "03", "ff", _field(rng, 2)])
        headers.append(f"{pad}{version}-{_field(rng, 32)}-{_field(rng, 16)}-{flags}{rest}{end}")
    return headers


def _oracle(header: str) -> SpanContext:
    context = TraceContextTextMapPropagator().extract({"traceparent": header})
    return otel_trace.get_current_span(context).get_span_context()


def _agree(header: str) -> bool:
    """Asserts gaia reads `header` as OpenTelemetry's propagator does; True if valid."""
    expected = _oracle(header)
    parsed = parse_traceparent(header)
    if not expected.is_valid:
        assert parsed is None, header
        return False
    assert parsed is not None, header
    assert parsed.trace_id == f"{expected.trace_id:032x}"
    assert parsed.span_id == f"{expected.span_id:016x}"
    assert parsed.flags == expected.trace_flags
    assert parse_traceparent(header.encode("latin-1")) == parsed
    return True


def test_traceparent_is_read_as_opentelemetrys_w3c_propagator_reads_it() -> None:
    headers = _headers(3000)
    valid = sum(_agree(header) for header in headers)
    # Both kinds were compared, in numbers.
    assert 0.2 * len(headers) < valid < 0.8 * len(headers), valid


@settings(max_examples=300, deadline=None)
@given(st.text(string.printable, max_size=70))
def test_any_other_text_is_refused_as_the_propagator_refuses_it(header: str) -> None:
    _agree(header)


def test_the_function_runs_under_a_span_of_its_own_in_the_same_trace() -> None:
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    trace = Tracer().begin(incoming)
    assert trace is not None and trace.sampled
    version, trace_id, span_id, flags = trace.run.split("-")
    assert (version, trace_id, flags) == ("00", "0af7651916cd43dd8448eb211c80319c", "01")
    assert span_id != "b7ad6b7169203331" and len(span_id) == 16 and span_id != "0" * 16
    assert parse_traceparent(trace.run) is not None
    unsampled = Tracer().begin(incoming[:-2] + "00")
    assert unsampled is not None and unsampled.run.endswith("-00")
    # Without an exporter, an event without a (valid) trace stays untraced.
    assert Tracer().begin(None) is None
    assert Tracer().begin("00-zz") is None
    assert event_traceparent({"traceparent": incoming}) == incoming
    assert event_traceparent({"traceparent": b"bytes"}) is None
    assert event_traceparent(object()) is None


def _exported() -> tuple[OtlpExporter, InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    return OtlpExporter(SimpleSpanProcessor(memory), environ={}), memory


def test_spans_for_dispatch_queue_wait_and_run_reach_the_sdk() -> None:
    exporter, memory = _exported()
    tracer = Tracer(exporter)
    trace = tracer.begin("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    assert trace is not None
    trace.queue.waited_s = 0.002
    tracer.end(trace, attributes={"gaia.function": "hello"}, error="boom")
    spans = {span.name: span for span in memory.get_finished_spans()}
    assert set(spans) == {"gaia.dispatch", "gaia.queue_wait", "gaia.function"}
    dispatch, wait, run = spans["gaia.dispatch"], spans["gaia.queue_wait"], spans["gaia.function"]
    assert {s.context.trace_id for s in spans.values()} == {0x0AF7651916CD43DD8448EB211C80319C}
    assert dispatch.parent is not None and dispatch.parent.span_id == 0xB7AD6B7169203331
    assert dispatch.parent.is_remote and dispatch.kind == SpanKind.SERVER
    assert run.parent is not None and run.parent.span_id == dispatch.context.span_id
    assert wait.parent is not None and wait.parent.span_id == dispatch.context.span_id
    assert f"{run.context.span_id:016x}" == trace.run_id, "the span the function ran under"
    assert (wait.start_time, wait.end_time) == (trace.started_ns, trace.started_ns + 2_000_000)
    assert run.start_time == wait.end_time and run.end_time == dispatch.end_time
    assert dispatch.status.status_code == StatusCode.ERROR and dispatch.status.description == "boom"
    assert wait.status.status_code == StatusCode.UNSET
    assert dispatch.attributes == {"gaia.function": "hello"}
    assert dispatch.resource.attributes["service.name"] == "gaia"


def test_a_trace_the_gateway_starts_is_sampled_by_the_sdks_sampler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exporter, _ = _exported()
    started = Tracer(exporter).begin(None)
    assert started is not None and started.parent_id is None and started.sampled
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    exporter, _ = _exported()
    unsampled = Tracer(exporter).begin(None)
    assert unsampled is not None and not unsampled.sampled and unsampled.run.endswith("-00")


def test_unsampled_traces_export_nothing() -> None:
    exporter, memory = _exported()
    tracer = Tracer(exporter)
    trace = Trace("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", 0, "consumer")
    tracer.end(trace, attributes={}, error=None)
    assert memory.get_finished_spans() == ()


def test_the_exporter_is_switched_on_by_the_sdks_own_variables() -> None:
    assert exporter_from_env({}) is None
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert exporter_from_env({**endpoint, "OTEL_SDK_DISABLED": "true"}) is None
    assert exporter_from_env({**endpoint, "OTEL_TRACES_EXPORTER": "none"}) is None
    assert isinstance(exporter_from_env(endpoint), OtlpExporter)
    with pytest.raises(TracingUnavailable, match="expected http/protobuf"):
        exporter_from_env({**endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})


def test_an_endpoint_without_the_sdk_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What an install without gaia[otel] finds: no OTLP exporter module.
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http.trace_exporter", None)
    endpoint = {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    with pytest.raises(TracingUnavailable, match=r"pip install 'gaia\[otel\]'"):
        exporter_from_env(endpoint)


def test_a_queue_messages_dispatch_is_a_consumer_span() -> None:
    exporter, memory = _exported()
    tracer = Tracer(exporter)
    trace = tracer.begin(None, kind="consumer")
    assert trace is not None
    tracer.end(trace, attributes={}, error=None)
    spans = {span.name: span for span in memory.get_finished_spans()}
    assert spans["gaia.dispatch"].kind == SpanKind.CONSUMER
    assert spans["gaia.dispatch"].parent is None, "a trace the gateway started"
    assert "gaia.queue_wait" not in spans, "it did not wait"
