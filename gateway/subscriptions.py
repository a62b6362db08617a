"""Runs the event-source triggers the stored state declares (Kafka, NATS, cron).

After every committed change the control plane hands the new state to `sync`: triggers
that appeared start, triggers that disappeared or changed stop (draining within the
timeout), and unchanged ones keep consuming. Which class runs a kind comes from a
registry by name, as uvicorn picks its protocol classes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.errors import GaiaError
from gateway.invoker import Invoker, Resolved
from gateway.snapshot import trigger_target
from gateway.store import StoredState, TriggerRecord
from routing.errors import RoutingError
from routing.names import Target
from routing.traffic import Sticky
from runtime_adapters.base import RuntimeAdapterError
from triggers.base import CloudEvent, Dispatch, Dispatched, DispatchedMany, Subscriber

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
        label = resolved.label.decode()
        try:
            result = await self._invoker.invoke(
                resolved, request_id=request_id, trigger=self._trigger_id, event=event
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
        outcomes = await self._invoker.invoke_many(
            resolved,
            request_ids=request_ids[:count],
            trigger=self._trigger_id,
            events=events[:count],
        )
        return DispatchedMany(revision=resolved.label.decode(), outcomes=outcomes)

    def _resolve_key(self, key: str | None) -> Resolved:
        """The revision for an event with this sticky key (None: by weight alone)."""
        return self._invoker.resolve(self._target, sticky_key=lambda _: key)


@dataclass(frozen=True, kw_only=True)
class TriggerContext:
    """What the gateway gives every trigger it starts."""

    dispatch: Dispatch
    drain_timeout_s: float
    replica: str  # this gateway's name in shared records (cron history)


Build = Callable[[TriggerRecord, TriggerContext], Subscriber]


# Each builder imports its broker's client itself, so a gateway loads only the clients
# its triggers use (aiokafka alone is several MB of resident memory).


def _kafka(record: TriggerRecord, context: TriggerContext) -> Subscriber:
    from triggers.kafka.config import KafkaTriggerConfig
    from triggers.kafka.subscriber import KafkaSubscriber

    return KafkaSubscriber(
        trigger_id=record.id,
        function=record.function,
        config=KafkaTriggerConfig.from_dict(record.spec),
        dispatch=context.dispatch,
        drain_timeout_s=context.drain_timeout_s,
    )


def _nats(record: TriggerRecord, context: TriggerContext) -> Subscriber:
    from triggers.nats.config import NatsTriggerConfig
    from triggers.nats.subscriber import NatsSubscriber

    return NatsSubscriber(
        trigger_id=record.id,
        function=record.function,
        config=NatsTriggerConfig.from_dict(record.spec),
        dispatch=context.dispatch,
        drain_timeout_s=context.drain_timeout_s,
    )


def _cron(record: TriggerRecord, context: TriggerContext) -> Subscriber:
    from triggers.cron.config import CronTriggerConfig
    from triggers.cron.subscriber import CronSubscriber

    return CronSubscriber(
        trigger_id=record.id,
        function=record.function,
        config=CronTriggerConfig.from_dict(record.spec),
        dispatch=context.dispatch,
        replica=context.replica,
    )


SUBSCRIBERS: dict[str, Build] = {"kafka": _kafka, "nats": _nats, "cron": _cron}


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
        builders: Mapping[str, Build] = SUBSCRIBERS,
    ) -> None:
        self._invoker = invoker
        self._drain_timeout_s = drain_timeout_s
        self._replica = replica
        self._builders = builders
        self._running: dict[str, _Running] = {}

    async def sync(self, state: StoredState) -> None:
        wanted = {t.id: t for t in state.triggers if t.kind in self._builders}
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
                dispatch=dispatch, drain_timeout_s=self._drain_timeout_s, replica=self._replica
            )
            subscriber = self._builders[record.kind](record, context)
            self._running[trigger_id] = _Running(record=record, subscriber=subscriber)
            await subscriber.start()
            log.info("started %s trigger %s", record.kind, trigger_id)

    def state_of(self, trigger_id: str) -> dict[str, Any] | None:
        running = self._running.get(trigger_id)
        return running.subscriber.state() if running else None

    async def history_of(self, trigger_id: str, *, limit: int) -> list[dict[str, Any]] | None:
        running = self._running.get(trigger_id)
        return await running.subscriber.history(limit=limit) if running else None

    def states(self) -> list[tuple[TriggerRecord, dict[str, Any]]]:
        return [(r.record, r.subscriber.state()) for r in self._running.values()]

    async def aclose(self) -> None:
        running, self._running = list(self._running.values()), {}
        for item in running:
            await item.subscriber.stop(timeout_s=self._drain_timeout_s)
