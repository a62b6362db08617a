"""The optional OTLP exporter: gaia's spans through the OpenTelemetry SDK.

Installed with `pip install 'gaia[otel]'` and switched on as any OpenTelemetry SDK is,
by `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); the SDK's
own variables then apply (`OTEL_SERVICE_NAME`, default `gaia`; `OTEL_RESOURCE_ATTRIBUTES`;
`OTEL_TRACES_SAMPLER` for the traces the gateway starts; `OTEL_BSP_*` for batching).
Spans go over OTLP/HTTP with protobuf from the SDK's batch processor, on its own thread:
the event loop only hands them over.

gaia decides its span ids itself (the function's span id must be known before the
function runs, to pass it on), so spans are built as the SDK's ReadableSpans and handed
to its span processor, rather than started through an SDK Tracer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from gateway.tracing import Span, SpanExporter

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
_PROTOCOLS = ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL")


class TracingUnavailable(Exception):
    """Tracing is asked for but cannot run; the message says what to do."""


def exporter_from_env(environ: Mapping[str, str]) -> SpanExporter | None:
    """The OTLP exporter when the environment asks for one, else None."""
    if not any(environ.get(name) for name in _ENDPOINTS):
        return None
    if environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    if environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "none":
        return None
    for name in _PROTOCOLS:
        protocol = environ.get(name, "").strip()
        if protocol and protocol != "http/protobuf":
            raise TracingUnavailable(
                f"{name}={protocol}: gaia exports OTLP over HTTP, expected http/protobuf"
            )
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        endpoint = next(environ[name] for name in _ENDPOINTS if environ.get(name))
        raise TracingUnavailable(
            f"OTLP endpoint {endpoint} is set but the OpenTelemetry SDK is not installed:"
            " pip install 'gaia[otel]'"
        ) from None
    return OtlpExporter(BatchSpanProcessor(OTLPSpanExporter()), environ=environ)


class OtlpExporter:
    """gaia's spans as the SDK's, handed to `processor` (a batch processor exporting OTLP,
    or a test's processor around the in-memory exporter)."""

    def __init__(self, processor: SpanProcessor, *, environ: Mapping[str, str]) -> None:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.util.instrumentation import InstrumentationScope

        attributes = {} if environ.get("OTEL_SERVICE_NAME") else {"service.name": "gaia"}
        self._resource = Resource.create(attributes)
        # The sampler the SDK would use (OTEL_TRACES_SAMPLER), for traces gaia starts.
        self._sampler = TracerProvider(resource=self._resource).sampler
        self._processor = processor
        self._scope = InstrumentationScope("gaia")

    def sample(self, trace_id: str) -> bool:
        from opentelemetry.sdk.trace.sampling import Decision

        result = self._sampler.should_sample(None, int(trace_id, 16), "gaia.dispatch")
        return result.decision == Decision.RECORD_AND_SAMPLE

    def export(self, spans: list[Span]) -> None:
        for span in spans:
            self._processor.on_end(self._readable(span))

    def shutdown(self) -> None:
        self._processor.shutdown()

    def _readable(self, span: Span) -> ReadableSpan:
        from opentelemetry.sdk.trace import ReadableSpan
        from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

        flags = TraceFlags(TraceFlags.SAMPLED)
        trace_id = int(span.trace_id, 16)
        parent = None
        if span.parent_id is not None:
            parent = SpanContext(
                trace_id, int(span.parent_id, 16), is_remote=span.remote_parent, trace_flags=flags
            )
        kind = {"server": SpanKind.SERVER, "consumer": SpanKind.CONSUMER}.get(
            span.kind, SpanKind.INTERNAL
        )
        status = Status(StatusCode.ERROR, span.error) if span.error else Status(StatusCode.UNSET)
        return ReadableSpan(
            name=span.name,
            context=SpanContext(
                trace_id, int(span.span_id, 16), is_remote=False, trace_flags=flags
            ),
            parent=parent,
            resource=self._resource,
            attributes=dict(span.attributes),
            kind=kind,
            status=status,
            start_time=span.start_ns,
            end_time=span.end_ns,
            instrumentation_scope=self._scope,
        )
