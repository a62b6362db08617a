"""What every event-source trigger is to the gateway, and what the gateway is to it.

A trigger gets a `Dispatch`: the one call that turns an event into an invocation of
its target (alias, revision or tag). The gateway builds it; the trigger never sees
routing or runtimes. The gateway starts and stops triggers through `Subscriber` and
shows `Subscriber.state()` in the admin API and CLI.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from runtime_adapters.base import InvocationResult, RuntimeAdapterError

CloudEvent = dict[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class Dispatched:
    """One invocation: the revision that ran (`hello@3`) and what came of it."""

    revision: str
    outcome: InvocationResult | RuntimeAdapterError


class Dispatch(Protocol):
    async def __call__(
        self, event: CloudEvent, *, request_id: str, sticky_key: str | None
    ) -> Dispatched: ...


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
    def state(self) -> dict[str, Any]:
        """A JSON-ready view for the admin API: connection, counters, backlog."""

    async def history(self, *, limit: int) -> list[dict[str, Any]] | None:
        """Past runs, newest first, for triggers that keep them (cron); else None."""
        return None
