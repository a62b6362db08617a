"""What every trigger's tests share: a Dispatch fake that records the events the
function would have received (as the worker hands them to it), and waiting on a
condition with a deadline."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from runtime_adapters.base import FunctionFailed, InvocationResult, RuntimeAdapterError
from runtime_adapters.python.events import CloudEvent as HandlerEvent
from triggers.base import CloudEvent, Dispatched, DispatchedMany

T = TypeVar("T")


async def eventually(
    condition: Callable[[], T | None], *, within: float = 20.0, what: str = "condition"
) -> T:
    deadline = time.monotonic() + within
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.02)


def ok(body: bytes = b"") -> InvocationResult:
    return InvocationResult(status=200 if body else 204, headers=[], body=body)


@dataclass
class FakeDispatch:
    """Answers with `answer(event)`; an exception it raises becomes FunctionFailed.
    `events` and `answer` see each event as the worker hands it to a handler."""

    answer: Callable[[HandlerEvent], Awaitable[InvocationResult]] | None = None
    revision: str = "fn@1"
    events: list[HandlerEvent] = field(default_factory=list)
    sent: list[CloudEvent] = field(default_factory=list)  # as the trigger sent them
    running: int = 0
    most_running: int = 0
    runs: list[int] = field(default_factory=list)  # the length of each ordered run

    async def __call__(
        self, event: CloudEvent, *, request_id: str, sticky_key: str | None
    ) -> Dispatched:
        self.sent.append(event)
        handed = HandlerEvent(event)
        self.events.append(handed)
        self.running += 1
        self.most_running = max(self.most_running, self.running)
        try:
            result = await self.answer(handed) if self.answer else ok()
        except Exception as exc:
            return Dispatched(
                revision=self.revision, outcome=FunctionFailed(str(exc), traceback="")
            )
        finally:
            self.running -= 1
        return Dispatched(revision=self.revision, outcome=result)

    async def many(
        self,
        events: Sequence[CloudEvent],
        *,
        request_ids: Sequence[str],
        sticky_keys: Sequence[str | None],
    ) -> DispatchedMany:
        """One event at a time, stopping after the first failure, as a runtime would."""
        outcomes: list[InvocationResult | RuntimeAdapterError] = []
        for event, request_id, key in zip(events, request_ids, sticky_keys, strict=True):
            outcome = (await self(event, request_id=request_id, sticky_key=key)).outcome
            outcomes.append(outcome)
            if isinstance(outcome, RuntimeAdapterError) or outcome.status >= 500:
                break
        self.runs.append(len(outcomes))
        return DispatchedMany(revision=self.revision, outcomes=outcomes)

    def ids(self) -> list[str]:
        return [str(event["id"]) for event in self.events]
