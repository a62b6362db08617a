"""What every event-source trigger is to the gateway, and what the gateway is to it.

A trigger gets a `Dispatch`: the one call that turns an event into an invocation of
its target (alias, revision or tag). The gateway builds it; the trigger never sees
routing or runtimes. The gateway starts and stops triggers through `Subscriber` and
shows `Subscriber.state()` in the admin API and CLI.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from runtime_adapters.base import InvocationResult, RuntimeAdapterError
from triggers.state import TriggerState

CloudEvent = dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class Dispatched:
    """One invocation: the revision that ran (`hello@3`) and what came of it."""

    revision: str
    outcome: InvocationResult | RuntimeAdapterError


@dataclass(frozen=True, kw_only=True, slots=True)
class DispatchedMany:
    """An ordered run: the revision that ran it, and an outcome per event that ran, in
    order. It ends at the first failure, or earlier when a sticky alias sends the next
    event to another revision; events past the end did not run."""

    revision: str
    outcomes: list[InvocationResult | RuntimeAdapterError]


class Dispatch(Protocol):
    async def __call__(
        self, event: CloudEvent, *, request_id: str, sticky_key: str | None
    ) -> Dispatched: ...

    async def many(
        self,
        events: Sequence[CloudEvent],
        *,
        request_ids: Sequence[str],
        sticky_keys: Sequence[str | None],
    ) -> DispatchedMany:
        """Run `events` in order on one instance (a partition's records): one wake-up
        of the worker for all of them."""


@dataclass(frozen=True, kw_only=True)
class SharedRedis:
    """The Redis that a cluster's replicas share as their store (GAIA_STORE): where a
    trigger whose replicas must agree (cron, on who runs a tick) keeps its keys, under
    `prefix`, unless its own config names another."""

    url: str  # a connection URL, without gaia's `prefix` parameter
    prefix: str


@dataclass(frozen=True, kw_only=True)
class TriggerContext:
    """What the gateway gives every trigger it starts."""

    trigger_id: str  # `hello/kafka/0`
    function: str
    dispatch: Dispatch
    drain_timeout_s: float
    replica: str  # this gateway's name in shared records (cron history)
    shared_redis: SharedRedis | None = None  # in cluster mode


class Subscriber(abc.ABC):
    kind: ClassVar[str]

    @abc.abstractmethod
    async def start(self) -> None:
        """Begin consuming in the background; connection failures are retried there."""

    @abc.abstractmethod
    async def stop(self, *, timeout_s: float) -> None:
        """Stop taking events, let in-flight ones finish within `timeout_s`, acknowledge
        what finished, then disconnect. Unfinished events are redelivered later."""

    @abc.abstractmethod
    def state(self) -> TriggerState:
        """Status, counters and backlog, for the admin API, the CLI and /metrics."""

    async def history(self, *, limit: int) -> list[dict[str, Any]] | None:
        """Past runs, newest first, for triggers that keep them (cron); else None."""
        return None
