"""W3C Trace Context through the gateway: a `traceparent` in, the same trace on out.

An invocation whose event carries a valid `traceparent` (an HTTP header; a Kafka, NATS
or Redis Streams message's header or field, which the trigger makes the CloudEvent's
`traceparent` attribute) joins that trace. The function runs under a span of its own
(a new span id, the same trace id): its `context.traceparent` and the answer it gives
(the HTTP response, a response_topic record, a reply_subject message, a reply_stream
entry) carry that span on. Without an exporter nothing more happens, and an event
without a `traceparent` costs a dict lookup. With one (gaia[otel], gateway/otel.py)
the gateway's spans are exported too, and an event without a trace starts one.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from runtime_adapters.base import QueueTiming

# version-traceid-parentid-flags, lower-case hex; a later version may append fields.
_TRACEPARENT = re.compile(
    r"[ \t]*([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^ \t]*)?[ \t]*"
)
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16
SAMPLED = 0x01

SpanKind = Literal["server", "consumer", "internal"]


@dataclass(frozen=True, slots=True)
class TraceParent:
    trace_id: str  # 32 lower-case hex digits, not all zero
    span_id: str  # the parent's span: 16 lower-case hex digits, not all zero
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & SAMPLED)

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags:02x}"


def parse_traceparent(value: str | bytes | None) -> TraceParent | None:
    """The header's trace, or None where W3C Trace Context says to ignore it (a bad
    shape, version ff, an all-zero id, fields after a version 00 header)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    match = _TRACEPARENT.fullmatch(text)
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == _ZERO_TRACE:
        return None
    if span_id == _ZERO_SPAN:
        return None
    return TraceParent(trace_id=trace_id, span_id=span_id, flags=int(flags, 16))


def event_traceparent(event: object) -> str | None:
    """A CloudEvent's `traceparent` attribute (the Distributed Tracing extension), which
    each queue trigger fills from its message; None for any other event."""
    if type(event) is not dict:
        return None
    value = event.get("traceparent")
    return value if isinstance(value, str) else None


def new_span_id() -> str:
    while (span_id := os.urandom(8).hex()) == _ZERO_SPAN:
        pass
    return span_id


def new_trace_id() -> str:
    while (trace_id := os.urandom(16).hex()) == _ZERO_TRACE:
        pass
    return trace_id


class Trace:
    """One invocation's place in a trace: its parent (None: the gateway started the
    trace), the span the function runs under, and what the pool says of its wait."""

    __slots__ = ("flags", "kind", "parent_id", "queue", "run", "run_id", "started_ns", "trace_id")

    def __init__(
        self, trace_id: str, parent_id: str | None, flags: int, kind: SpanKind = "server"
    ) -> None:
        self.trace_id = trace_id
        # The dispatch span's kind: a server's when a caller waits for the answer (HTTP),
        # a consumer's for a queue's message.
        self.kind = kind
        self.parent_id = parent_id
        self.flags = flags
        self.run_id = new_span_id()
        # What the function continues and its answer carries: same trace, its own span.
        self.run = f"00-{trace_id}-{self.run_id}-{flags:02x}"
        self.started_ns = time.time_ns()
        self.queue = QueueTiming()

    @property
    def sampled(self) -> bool:
        return bool(self.flags & SAMPLED)


@dataclass(frozen=True, kw_only=True, slots=True)
class Span:
    """A finished span, as gaia records it; an exporter turns it into its own kind."""

    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    remote_parent: bool  # the parent is the caller's span, not one of the gateway's
    kind: SpanKind
    start_ns: int
    end_ns: int
    attributes: Mapping[str, str | int] = field(default_factory=dict)
    error: str | None = None


class SpanExporter(Protocol):
    def sample(self, trace_id: str) -> bool:
        """Whether a trace the gateway starts is recorded (the SDK's sampler decides)."""

    def export(self, spans: list[Span]) -> None:
        """Hand finished spans over; must not block (the SDK batches them)."""

    def shutdown(self) -> None:
        """Send what is pending; called once at stop."""


class Tracer:
    """Starts and ends invocations' traces; exports their spans when it has an exporter."""

    def __init__(self, exporter: SpanExporter | None = None) -> None:
        self._exporter = exporter

    @property
    def exporting(self) -> bool:
        return self._exporter is not None

    def begin(self, incoming: str | bytes | None, *, kind: SpanKind = "server") -> Trace | None:
        """The trace an invocation joins (`incoming` is its traceparent, if any), a new one
        when exporting, else None: untraced work costs nothing more."""
        parent = parse_traceparent(incoming) if incoming is not None else None
        if parent is not None:
            return Trace(parent.trace_id, parent.span_id, parent.flags, kind)
        if self._exporter is None:
            return None
        trace_id = new_trace_id()
        return Trace(trace_id, None, SAMPLED if self._exporter.sample(trace_id) else 0, kind)

    def end(
        self,
        trace: Trace,
        *,
        attributes: Mapping[str, str | int],
        error: str | None,
        run_start_ns: int | None = None,
        run_end_ns: int | None = None,
    ) -> None:
        """The invocation is over: export its dispatch span, its wait for a slot (if it
        waited) and the function's run. `run_start_ns`/`run_end_ns` place the run inside
        an ordered run of several; by default it follows the wait to the end."""
        exporter = self._exporter
        if exporter is None or not trace.sampled:
            return
        end_ns = time.time_ns()
        dispatch_id = new_span_id()
        waited_ns = int(trace.queue.waited_s * 1e9)

        def span(name: str, span_id: str, parent_id: str | None, start: int, end: int) -> Span:
            dispatch = name == "gaia.dispatch"
            return Span(
                name=name,
                trace_id=trace.trace_id,
                span_id=span_id,
                parent_id=parent_id,
                remote_parent=dispatch and parent_id is not None,
                kind=trace.kind if dispatch else "internal",
                start_ns=start,
                end_ns=end,
                attributes=attributes,
                error=error if name != "gaia.queue_wait" else None,
            )

        run_start = run_start_ns if run_start_ns is not None else trace.started_ns + waited_ns
        run_end = run_end_ns if run_end_ns is not None else end_ns
        spans = [
            span("gaia.dispatch", dispatch_id, trace.parent_id, trace.started_ns, end_ns),
            span("gaia.function", trace.run_id, dispatch_id, run_start, run_end),
        ]
        if waited_ns:
            queued_until = trace.started_ns + waited_ns
            spans.append(
                span("gaia.queue_wait", new_span_id(), dispatch_id, trace.started_ns, queued_until)
            )
        exporter.export(spans)

    def shutdown(self) -> None:
        if self._exporter is not None:
            self._exporter.shutdown()
