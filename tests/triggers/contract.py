"""What every trigger kind's subscriber does, written once (as faststream's
tests/brokers/base): each kind's tests subclass a contract and fill in its hooks.

`SubscriberContract`: built through the registry, a subscriber starts, reports a typed
state, and stops. `QueueSubscriberContract` adds the delivery semantics every queue
kind shares: each event delivered and counted, a failure retried then dead-lettered,
a graceful stop that lets in-flight events finish and acknowledges them, and an event
still unfinished at the stop delivered again later.
"""

from __future__ import annotations

import abc
import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, ClassVar

from configkit.model import ConfigModel
from runtime_adapters.base import InvocationResult
from tests.triggers.kit import FakeDispatch, eventually, ok
from triggers import registry
from triggers.base import CloudEvent, Subscriber, TriggerContext
from triggers.state import TriggerState


class SubscriberContract(abc.ABC):
    """Subclasses set `kind` and give `config` for one trigger of the kind on a
    `source` of its own; `broker` is whatever the kind's fixture `broker` returns."""

    kind: ClassVar[str]
    state_type: ClassVar[type[TriggerState]]

    @abc.abstractmethod
    async def new_source(self, broker: Any) -> str:
        """A topic, subject, stream or schedule that no other test uses."""

    @abc.abstractmethod
    def config(self, broker: Any, source: str, **keys: Any) -> ConfigModel:
        """The kind's config for `source`, with `keys` given as gaia.yaml keys."""

    @asynccontextmanager
    async def running(
        self, config: ConfigModel, dispatch: FakeDispatch, *, drain_timeout_s: float = 5.0
    ) -> AsyncIterator[Subscriber]:
        """A subscriber built as the gateway builds it, started until the block ends."""
        kind = registry.kind(self.kind)
        subscriber = kind.build(
            config,
            TriggerContext(
                trigger_id=f"fn/{self.kind}/0",
                function="fn",
                dispatch=dispatch,
                drain_timeout_s=drain_timeout_s,
                replica="test",
            ),
        )
        await subscriber.start()
        try:
            await eventually(lambda: subscriber.state().status == "running", what="running")
            yield subscriber
        finally:
            await subscriber.stop(timeout_s=drain_timeout_s)

    async def test_the_registry_builds_it_and_its_state_is_typed(self, broker: Any) -> None:
        source = await self.new_source(broker)
        async with self.running(self.config(broker, source), FakeDispatch()) as subscriber:
            state = subscriber.state()
            assert type(state) is self.state_type
            assert (state.status, state.error, state.in_flight) == ("running", None, 0)
            shown = json.loads(json.dumps(state.to_dict()))
            assert shown["status"] == "running" and shown["processed"] == 0
            assert not state.hidden() & {"status", "error", "in_flight", "processed"}
        assert subscriber.state().status == "stopped"


class QueueSubscriberContract(SubscriberContract):
    """Hooks for a kind whose events come from a broker that keeps them."""

    @abc.abstractmethod
    async def publish(self, broker: Any, source: str, values: list[bytes]) -> None:
        """Put events with these payloads on `source`, in order."""

    def dead_letter_keys(self, source: str) -> dict[str, Any]:
        """The keys that send the trigger's dead letters somewhere of their own."""
        return {"dead_letter": f"{source}.dlq"}

    async def test_every_event_is_delivered_and_counted(self, broker: Any) -> None:
        source = await self.new_source(broker)
        values = [f"event-{n}".encode() for n in range(5)]
        dispatch = FakeDispatch()
        async with self.running(self.config(broker, source), dispatch) as subscriber:
            await self.publish(broker, source, values)
            await eventually(lambda: subscriber.state().processed == 5, what="five processed")
            state = subscriber.state()
        assert sorted(_data(event) for event in dispatch.events) == sorted(values)
        assert (state.retried, state.dead_lettered) == (0, 0)

    async def test_a_failure_is_retried_then_dead_lettered(self, broker: Any) -> None:
        source = await self.new_source(broker)

        async def answer(event: CloudEvent) -> InvocationResult:
            if _data(event) == b"poison":
                raise ValueError("cannot take poison")
            return ok()

        dispatch = FakeDispatch(answer=answer)
        config = self.config(broker, source, retries=2, **self.dead_letter_keys(source))
        async with self.running(config, dispatch) as subscriber:
            await self.publish(broker, source, [b"good", b"poison"])
            state = await eventually(
                lambda: s if (s := subscriber.state()).dead_lettered == 1 else None,
                what="the dead letter",
            )
        attempts = [event for event in dispatch.events if _data(event) == b"poison"]
        assert len(attempts) == 3, "the first attempt and two retries"
        assert (state.processed, state.retried, state.dead_lettered) == (1, 2, 1)

    async def test_a_graceful_stop_finishes_and_acknowledges_in_flight_events(
        self, broker: Any
    ) -> None:
        source = await self.new_source(broker)
        release = asyncio.Event()
        config = self.config(broker, source)
        first = FakeDispatch(answer=_held_until(release))
        async with self.running(config, first) as subscriber:
            await self.publish(broker, source, [b"in-flight"])
            await eventually(lambda: first.running == 1, what="the event in flight")
            stopping = asyncio.ensure_future(subscriber.stop(timeout_s=10))
            # The stop waits for the event: a second on, it has not returned.
            done, _ = await asyncio.wait({stopping}, timeout=1.0)
            assert not done, "the stop returned while an event was still running"
            release.set()
            await stopping
            assert subscriber.state().processed == 1
        # A successor gets what comes next, and not the finished event again.
        second = FakeDispatch()
        async with self.running(config, second):
            await self.publish(broker, source, [b"marker"])
            await eventually(lambda: b"marker" in [_data(e) for e in second.events], what="marker")
        assert [_data(event) for event in second.events] == [b"marker"]

    async def test_an_event_unfinished_at_the_stop_is_delivered_again(self, broker: Any) -> None:
        source = await self.new_source(broker)
        config = self.config(broker, source)
        first = FakeDispatch(answer=_held_until(asyncio.Event()))
        async with self.running(config, first, drain_timeout_s=0.2):
            await self.publish(broker, source, [b"unfinished"])
            await eventually(lambda: first.running == 1, what="the event in flight")
        second = FakeDispatch()
        async with self.running(config, second):
            await eventually(lambda: second.events, what="the redelivery")
        assert _data(second.events[0]) == b"unfinished"


def _held_until(release: asyncio.Event) -> Callable[[CloudEvent], Awaitable[InvocationResult]]:
    """A function that answers once `release` is set."""

    async def answer(event: CloudEvent) -> InvocationResult:
        await release.wait()
        return ok()

    return answer


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def _data(event: CloudEvent) -> bytes:
    data = event["data"]
    if isinstance(data, bytes):
        return data
    return data.encode() if isinstance(data, str) else json.dumps(data).encode()
