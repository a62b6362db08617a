"""From a target to a result: resolve the alias, pick a revision, run it, count it.

Shared by every trigger, so that routing, warm-on-demand and metrics behave the same
whether an event came over HTTP or (later) from a queue.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from gateway.control import ControlPlane
from gateway.errors import NotFound
from gateway.guard import Guard, Ticket
from gateway.metrics import Metrics, RevisionMetrics
from gateway.snapshot import Snapshot
from gateway.tracing import SpanKind, Trace, Tracer, event_traceparent
from routing.names import DEFAULT_ALIAS, Target
from routing.traffic import Sticky
from runtime_adapters.base import (
    QUEUE_TIMING,
    Event,
    FunctionFailed,
    Invocation,
    InvocationResult,
    PoolSaturated,
    RevisionKey,
    RevisionUnknown,
    RuntimeAdapterError,
)

log = logging.getLogger("gaia.invoke")
_TRACEPARENT = b"traceparent"


def carrying(result: InvocationResult, trace: Trace) -> InvocationResult:
    """The answer with the trace on, unless the function put a traceparent there itself."""
    if any(name.lower() == _TRACEPARENT for name, _ in result.headers):
        return result
    return InvocationResult(
        status=result.status,
        headers=[*result.headers, (_TRACEPARENT, trace.run.encode())],
        body=result.body,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Resolved:
    key: RevisionKey
    alias: str
    # `hello@3` as response headers carry it, built once per revision, not per request.
    label: bytes
    # The counters this (function, revision, alias) adds to, bound once.
    metrics: RevisionMetrics


class Invoker:
    def __init__(
        self,
        *,
        control: ControlPlane,
        metrics: Metrics,
        replica: str = "gaia",
        tracer: Tracer | None = None,
    ) -> None:
        self._control = control
        self._metrics = metrics
        # Rate limits, concurrency caps and circuits: see `admit`.
        self.guard = Guard(replica=replica)
        self.tracer = tracer if tracer is not None else Tracer()
        # Resolved objects per (function, alias, revision) for the current snapshot: the
        # hot path then allocates nothing to name the revision it picked.
        self._resolved: dict[tuple[str, str, int], Resolved] = {}
        self._resolved_for: Snapshot | None = None

    def _resolved_of(self, function: str, alias: str, revision: int) -> Resolved:
        snapshot = self._control.snapshot
        if snapshot is not self._resolved_for:
            self._resolved.clear()
            self._resolved_for = snapshot
        resolved = self._resolved.get((function, alias, revision))
        if resolved is None:
            resolved = Resolved(
                key=RevisionKey(function=function, revision=revision),
                alias=alias,
                label=f"{function}@{revision}".encode(),
                metrics=self._metrics.child(function, revision, alias),
            )
            self._resolved[(function, alias, revision)] = resolved
        return resolved

    def resolve(
        self,
        target: Target,
        *,
        tag: str | None = None,
        sticky_key: Callable[[Sticky], str | None] | None = None,
    ) -> Resolved:
        """Pick the revision for one event.

        `sticky_key` extracts the key from the event when the alias is sticky. Raises
        NotFound for an unknown function, alias or revision, UnknownTag for a tag.
        """
        snapshot = self._control.snapshot
        if target.revision is not None:
            resolved = self._resolved_of(target.function, "", target.revision)
            if resolved.key not in snapshot.revisions:
                raise NotFound(f"revision {resolved.key} does not exist", field="revision")
            return resolved
        alias_name = target.alias or DEFAULT_ALIAS
        alias = snapshot.aliases.get((target.function, alias_name))
        if alias is None:
            raise NotFound(f"{target.function}:{alias_name} does not exist", field="alias")
        key_text = sticky_key(alias.sticky) if alias.sticky and sticky_key else None
        revision = alias.choose(sticky_key=key_text, tag=tag or target.tag)
        return self._resolved_of(target.function, alias_name, revision)

    def guarded(self) -> bool:
        """Whether the current snapshot has any limit; without one, `admit` is skipped."""
        return self.guard.plan(self._control.snapshot).active

    async def admit(
        self, resolved: Resolved, *, trigger_id: str | None, wait: bool, events: int = 1
    ) -> tuple[Resolved, Ticket]:
        """Pass `events` events to `resolved` through the limits (see gateway.guard): the
        revision to invoke (the alias's fallback while the picked one's circuit is
        open) and the ticket to hand to `invoke`. Raises limits.errors.Refused unless
        `wait`."""
        plan = self.guard.plan(self._control.snapshot)
        key, ticket = await self.guard.admit(
            plan, resolved.key, resolved.alias, trigger_id=trigger_id, wait=wait, tokens=events
        )
        if key != resolved.key:
            resolved = self._resolved_of(key.function, resolved.alias, key.revision)
        return resolved, ticket

    def admit_now(self, resolved: Resolved, *, trigger_id: str | None) -> Ticket | None:
        """`admit` for one HTTP event decided at once (see Guard.admit_now): its ticket
        for `resolved` itself, or None, having taken nothing, when `admit` must decide."""
        plan = self.guard.plan(self._control.snapshot)
        return self.guard.admit_now(plan, resolved.key, resolved.alias, trigger_id=trigger_id)

    def begin_trace(
        self, incoming: str | bytes | None, *, kind: SpanKind = "server"
    ) -> Trace | None:
        """The trace an invocation joins, from its event's `traceparent` (None: untraced)."""
        return self.tracer.begin(incoming, kind=kind)

    async def invoke_many(
        self,
        resolved: Resolved,
        *,
        request_ids: Sequence[str],
        trigger: str,
        events: Sequence[Event],
        ticket: Ticket | None = None,
    ) -> list[InvocationResult | RuntimeAdapterError]:
        """Run events in order on one instance, stopping after the first failure; an
        entry per event that ran. An error that ends the whole run is that of its first.
        Each event keeps its own trace."""
        key = resolved.key
        traces = [self.tracer.begin(event_traceparent(event), kind="consumer") for event in events]
        invocations = [
            Invocation(
                request_id=rid,
                trigger=trigger,
                alias=resolved.alias,
                event=event,
                traceparent=trace.run if trace is not None else "",
            )
            for rid, event, trace in zip(request_ids, events, traces, strict=True)
        ]
        started = time.perf_counter()
        runtime = self._control.runtime_for(self._control.snapshot.revisions[key])
        try:
            try:
                results = await runtime.invoke_many(key, invocations)
            except RevisionUnknown:
                await self._control.ensure_warm(key)
                results = await runtime.invoke_many(key, invocations)
        except RuntimeAdapterError as exc:
            results = [exc]
        finally:
            if ticket is not None:
                ticket.close()
        each = (time.perf_counter() - started) / max(1, len(results))
        codes: dict[int, int] = {}
        for n, (result, invocation) in enumerate(zip(results, invocations, strict=False)):
            code = result.status
            codes[code] = codes.get(code, 0) + 1
            if isinstance(result, FunctionFailed):
                self._log_failure(resolved, invocation.request_id, trigger, result)
            elif isinstance(result, PoolSaturated):
                resolved.metrics.refused(result.reason)
            if ticket is not None:
                ticket.record(code, counted=not isinstance(result, PoolSaturated))
            trace = traces[n]
            if trace is not None:
                if isinstance(result, InvocationResult):
                    results[n] = carrying(result, trace)
                # The run's events ran one after another: each its share of the time.
                run_start = trace.started_ns + int(n * each * 1e9)
                self._end_trace(
                    trace, resolved, invocation.request_id, trigger, result,
                    run=(run_start, run_start + int(each * 1e9)),
                )  # fmt: skip
        for code, count in codes.items():
            resolved.metrics.observe(code, each, count)
        return results

    async def invoke(
        self,
        resolved: Resolved,
        *,
        request_id: str,
        trigger: str,
        event: Event,
        ticket: Ticket | None = None,
        trace: Trace | None = None,
        urgent: bool = True,
    ) -> InvocationResult:
        """Run the invocation; RuntimeAdapterError subclasses carry the status to answer.
        `ticket` (from `admit`) is told the outcome and closed. A traced invocation's
        answer carries its trace on (a `traceparent` header). `urgent=False`: nobody
        waits on the answer (a shadow copy), so the runtime need not spend CPU to get it
        a few µs sooner (base.Invocation.urgent)."""
        key = resolved.key
        invocation = Invocation(
            request_id=request_id,
            trigger=trigger,
            alias=resolved.alias,
            event=event,
            traceparent=trace.run if trace is not None else "",
            urgent=urgent,
        )
        started = time.perf_counter()
        spec = self._control.snapshot.revisions[key]
        runtime = self._control.runtime_for(spec)
        code = 500
        outcome: InvocationResult | RuntimeAdapterError | None = None
        shed = False
        # The pool tells a traced invocation's wait for a slot through this.
        timing = QUEUE_TIMING.set(trace.queue) if trace is not None else None
        try:
            try:
                result = await runtime.invoke(key, invocation)
            except RevisionUnknown:
                # Nothing keeps this revision warm (a direct fn@N call): warm it now.
                await self._control.ensure_warm(key)
                result = await runtime.invoke(key, invocation)
            code = result.status
            if trace is not None:
                result = carrying(result, trace)
            outcome = result
            return result
        except FunctionFailed as exc:
            code, outcome = exc.status, exc
            self._log_failure(resolved, request_id, trigger, exc)
            raise
        except PoolSaturated as exc:
            code, outcome, shed = exc.status, exc, True
            resolved.metrics.refused(exc.reason)
            raise
        except RuntimeAdapterError as exc:
            code, outcome = exc.status, exc
            raise
        finally:
            resolved.metrics.observe(code, time.perf_counter() - started)
            if ticket is not None:
                ticket.record(code, counted=not shed)
                ticket.close()
            if trace is not None:
                assert timing is not None
                QUEUE_TIMING.reset(timing)
                self._end_trace(trace, resolved, request_id, trigger, outcome)

    def _end_trace(
        self,
        trace: Trace,
        resolved: Resolved,
        request_id: str,
        trigger: str,
        outcome: InvocationResult | RuntimeAdapterError | None,
        *,
        run: tuple[int, int] | None = None,
    ) -> None:
        if not self.tracer.exporting:
            return
        if isinstance(outcome, InvocationResult):
            status, error = outcome.status, None
            if status >= 500:
                error = f"the function answered status {status}"
        elif outcome is not None:
            status, error = outcome.status, outcome.message
        else:
            status, error = 500, "cancelled"
        self.tracer.end(
            trace,
            attributes={
                "gaia.function": resolved.key.function,
                "gaia.revision": resolved.key.revision,
                "gaia.alias": resolved.alias,
                "gaia.trigger": trigger,
                "gaia.request_id": request_id,
                "gaia.status": status,
            },
            error=error,
            run_start_ns=run[0] if run else None,
            run_end_ns=run[1] if run else None,
        )

    @staticmethod
    def _log_failure(
        resolved: Resolved, request_id: str, trigger: str, exc: FunctionFailed
    ) -> None:
        key = resolved.key
        log.error(
            "function %s raised (request %s): %s",
            key,
            request_id,
            exc.message,
            extra={
                "traceback": exc.traceback,
                "request_id": request_id,
                "function": key.function,
                "revision": key.revision,
                "alias": resolved.alias,
                "trigger": trigger,
            },
        )
