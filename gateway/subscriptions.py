"""Runs the event-source triggers the stored state declares (every kind with a subscriber).

After every committed change the control plane hands the new state to `sync`: triggers
that appeared start, triggers that disappeared or changed stop (draining within the
timeout), and unchanged ones keep consuming. Which class runs a kind comes from the
trigger registry by name, as uvicorn picks its protocol classes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.errors import GaiaError
from gateway.invoker import Invoker, Resolved
from gateway.snapshot import trigger_target
from gateway.store import StoredState, TriggerRecord
from gateway.tracing import event_traceparent
from routing.errors import RoutingError
from routing.names import Target
from routing.traffic import Sticky
from runtime_adapters.base import RuntimeAdapterError
from triggers import registry as trigger_kinds
from triggers.base import (
    CloudEvent,
    Dispatched,
    DispatchedMany,
    SharedRedis,
    Subscriber,
    TriggerContext,
)
from triggers.state import TriggerState

log = logging.getLogger("gaia.subscriptions")


class TargetUnresolved(RuntimeAdapterError):
    """The trigger's alias, tag or revision is gone. Retried, then dead-lettered: a
    change being applied may bring it back before the attempts run out."""

    status = 503
    retriable = True


class TargetDispatch:
    """Dispatch for one trigger: resolve its target per event, invoke, never raise."""

    def __init__(self, *, invoker: Invoker, target: Target, trigger_id: str) -> None:
        self._invoker = invoker
        self._target = target
        self._trigger_id = trigger_id

    async def __call__(
        self, event: CloudEvent, *, request_id: str, sticky_key: str | None
    ) -> Dispatched:
        try:
            resolved = self._resolve_key(sticky_key)
        except (GaiaError, RoutingError) as exc:
            return Dispatched(revision="", outcome=TargetUnresolved(str(exc)))
        ticket = None
        if self._invoker.guarded():
            # Limits pace a queue: wait for them rather than fail the event.
            resolved, ticket = await self._invoker.admit(
                resolved, trigger_id=self._trigger_id, wait=True
            )
        label = resolved.label.decode()
        try:
            result = await self._invoker.invoke(
                resolved,
                request_id=request_id,
                trigger=self._trigger_id,
                event=event,
                trace=self._invoker.begin_trace(event_traceparent(event), kind="consumer"),
                ticket=ticket,
            )
        except RuntimeAdapterError as exc:
            return Dispatched(revision=label, outcome=exc)
        return Dispatched(revision=label, outcome=result)

    async def many(
        self,
        events: Sequence[CloudEvent],
        *,
        request_ids: Sequence[str],
        sticky_keys: Sequence[str | None],
    ) -> DispatchedMany:
        sticky = False

        def first_key(_: Sticky) -> str | None:
            nonlocal sticky
            sticky = True
            return sticky_keys[0]

        try:
            resolved = self._invoker.resolve(self._target, sticky_key=first_key)
            count = len(events)
            if sticky:  # the run ends where the next key belongs to another revision
                count = 1
                while count < len(events) and self._resolve_key(sticky_keys[count]) == resolved:
                    count += 1
        except (GaiaError, RoutingError) as exc:
            return DispatchedMany(revision="", outcomes=[TargetUnresolved(str(exc))])
        ticket = None
        if self._invoker.guarded():
            resolved, ticket = await self._invoker.admit(
                resolved, trigger_id=self._trigger_id, wait=True, events=count
            )
        outcomes = await self._invoker.invoke_many(
            resolved,
            request_ids=request_ids[:count],
            trigger=self._trigger_id,
            events=events[:count],
            ticket=ticket,
        )
        return DispatchedMany(revision=resolved.label.decode(), outcomes=outcomes)

    def _resolve_key(self, key: str | None) -> Resolved:
        """The revision for an event with this sticky key (None: by weight alone)."""
        return self._invoker.resolve(self._target, sticky_key=lambda _: key)


Build = Callable[[TriggerRecord, TriggerContext], Subscriber]


def build_from_registry(record: TriggerRecord, context: TriggerContext) -> Subscriber:
    """The subscriber of the trigger's kind; its module (and its broker's client) is
    imported now, so a gateway loads only the clients its triggers use."""
    kind = trigger_kinds.kind(record.kind)
    return kind.build(kind.parse(record.spec), context)


def _runs_in_background(record: TriggerRecord) -> bool:
    return trigger_kinds.kind(record.kind).subscriber is not None


@dataclass(frozen=True, kw_only=True)
class _Running:
    record: TriggerRecord
    subscriber: Subscriber


class Subscriptions:
    def __init__(
        self,
        *,
        invoker: Invoker,
        drain_timeout_s: float,
        replica: str,
        build: Build = build_from_registry,
        shared_redis: SharedRedis | None = None,
    ) -> None:
        self._invoker = invoker
        self._drain_timeout_s = drain_timeout_s
        self._replica = replica
        self._shared_redis = shared_redis
        self._build = build
        self._running: dict[str, _Running] = {}

    async def sync(self, state: StoredState) -> None:
        wanted = {t.id: t for t in state.triggers if _runs_in_background(t)}
        for trigger_id, running in list(self._running.items()):
            if wanted.get(trigger_id) != running.record:
                del self._running[trigger_id]
                await running.subscriber.stop(timeout_s=self._drain_timeout_s)
                log.info("stopped trigger %s", trigger_id)
        for trigger_id, record in wanted.items():
            if trigger_id in self._running:
                continue
            dispatch = TargetDispatch(
                invoker=self._invoker,
                target=trigger_target(record.function, record.spec),
                trigger_id=trigger_id,
            )
            context = TriggerContext(
                trigger_id=trigger_id,
                function=record.function,
                dispatch=dispatch,
                drain_timeout_s=self._drain_timeout_s,
                replica=self._replica,
                shared_redis=self._shared_redis,
            )
            subscriber = self._build(record, context)
            self._running[trigger_id] = _Running(record=record, subscriber=subscriber)
            await subscriber.start()
            log.info("started %s trigger %s", record.kind, trigger_id)

    def state_of(self, trigger_id: str) -> TriggerState | None:
        running = self._running.get(trigger_id)
        return running.subscriber.state() if running else None

    async def history_of(self, trigger_id: str, *, limit: int) -> list[dict[str, Any]] | None:
        running = self._running.get(trigger_id)
        return await running.subscriber.history(limit=limit) if running else None

    def states(self) -> list[tuple[TriggerRecord, TriggerState]]:
        return [(r.record, r.subscriber.state()) for r in self._running.values()]

    async def aclose(self, *, timeout_s: float | None = None) -> None:
        """Stop every trigger at once, each within `timeout_s` (default: the drain
        timeout): they stop taking events, finish, commit and release in parallel."""
        running, self._running = list(self._running.values()), {}
        timeout = self._drain_timeout_s if timeout_s is None else timeout_s
        await asyncio.gather(*(item.subscriber.stop(timeout_s=timeout) for item in running))
