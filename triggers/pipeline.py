"""The delivery pipeline every queue trigger shares: invoke, retry, dead-letter.

Adapters (Kafka, NATS, cron) only do I/O: they hand each event to `Pipeline.deliver`
and acknowledge it when that returns. It returns only when the event has succeeded or
has been written to the dead-letter target; if it can be neither, DeliveryStuck is
raised and the adapter must stop that event's partition or subject rather than skip
it: at least once, nothing dropped silently.

    DeliveryError
    ├── OutputFailed    the function's answer could not be forwarded (a response topic,
    │                   a reply subject): the event is retried like a failed invocation
    └── DeliveryStuck   retries are exhausted and no dead letter took the event

A batch event may partly fail: `remaining` names the part to retry (the items the
function reported as failed), and only that part is retried and dead-lettered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from runtime_adapters.base import InvocationResult, RuntimeAdapterError
from triggers.backoff import Backoff
from triggers.base import CloudEvent, Dispatch

log = logging.getLogger("gaia.triggers")
E = TypeVar("E")


class Attempted(Protocol):
    """A unit of delivery that remembers which revision ran it last (dead letters name it)."""

    revision: str


async def invoke_attempt(
    dispatch: Dispatch,
    event: CloudEvent,
    *,
    attempt: int,
    unit: Attempted,
    sticky_key: str | None = None,
) -> InvocationResult:
    """One attempt of `event` (request id `ID#ATTEMPT`, so each retry is told apart in
    the logs): the function's answer, or its runtime failure raised for `deliver` to
    retry. `unit.revision` is set either way."""
    dispatched = await dispatch(event, request_id=f"{event['id']}#{attempt}", sticky_key=sticky_key)
    unit.revision = dispatched.revision
    if isinstance(dispatched.outcome, RuntimeAdapterError):
        raise dispatched.outcome
    return dispatched.outcome


class DeliveryError(Exception):
    pass


class OutputFailed(DeliveryError):
    retriable = True

    @property
    def message(self) -> str:
        return str(self)


class DeliveryStuck(DeliveryError):
    def __init__(self, message: str, *, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    max_attempts: int = 3
    backoff: Backoff = field(default_factory=Backoff)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")


@dataclass(frozen=True, kw_only=True)
class Failure:
    """Why an event is dead-lettered: dead-letter targets put this in headers."""

    error: str
    kind: str
    attempts: int
    retriable: bool = True


def failure_of(
    outcome: InvocationResult | RuntimeAdapterError | OutputFailed, *, attempt: int
) -> Failure | None:
    """Why `outcome` failed, or None when it is a success (any answer below 500)."""
    if isinstance(outcome, RuntimeAdapterError | OutputFailed):
        return Failure(
            error=outcome.message,
            kind=type(outcome).__name__,
            attempts=attempt,
            retriable=outcome.retriable,
        )
    if outcome.status >= 500:
        return Failure(
            error=f"the function answered status {outcome.status}",
            kind="ErrorStatus",
            attempts=attempt,
        )
    return None


@dataclass(frozen=True, kw_only=True)
class Delivered:
    result: InvocationResult
    attempts: int


@dataclass(frozen=True, kw_only=True)
class DeadLettered:
    failure: Failure


@dataclass(frozen=True, kw_only=True)
class Retry(Generic[E]):
    """Deliver `event` (all of it, or the part that failed) again after `delay_s`."""

    event: E
    failure: Failure
    delay_s: float


Outcome = Delivered | DeadLettered
Invoke = Callable[[E, int], Awaitable[InvocationResult]]
DeadLetter = Callable[[E, Failure], Awaitable[None]]
# The part of an event that still failed after `result`, or None when all of it is done.
Remaining = Callable[[E, InvocationResult], "E | None"]


class Pipeline(Generic[E]):
    def __init__(
        self,
        *,
        invoke: Invoke[E],
        dead_letter: DeadLetter[E] | None,
        policy: RetryPolicy,
        remaining: Remaining[E] | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._invoke = invoke
        self._dead_letter = dead_letter
        self._policy = policy
        self._remaining = remaining
        self._sleep = sleep

    async def deliver(self, event: E, *, after: Failure | None = None) -> Outcome:
        """Every attempt in this call, sleeping the backoff between them. `after` is the
        failure of an attempt made elsewhere (in an ordered run): go on from there."""
        attempt = 1
        if after is not None:
            if not after.retriable or after.attempts >= self._policy.max_attempts:
                return await self._give_up(event, after)
            await self._sleep(self._policy.backoff.delay(after.attempts))
            attempt = after.attempts + 1
        while True:
            outcome = await self.attempt(event, attempt=attempt)
            if not isinstance(outcome, Retry):
                return outcome
            await self._sleep(outcome.delay_s)
            event, attempt = outcome.event, attempt + 1

    async def attempt(self, event: E, *, attempt: int) -> Outcome | Retry[E]:
        """Attempt number `attempt` alone, for sources that redeliver by themselves
        (JetStream): Retry says what to deliver again after `Retry.delay_s`; after the
        last attempt, or a failure not worth retrying, the event is dead-lettered."""
        outcome: InvocationResult | RuntimeAdapterError | OutputFailed
        try:
            outcome = await self._invoke(event, attempt)
        except (RuntimeAdapterError, OutputFailed) as exc:
            outcome = exc
        failure = failure_of(outcome, attempt=attempt)
        if failure is not None and not failure.retriable:
            return await self._give_up(event, failure)
        if failure is None:
            assert isinstance(outcome, InvocationResult)
            rest = self._remaining(event, outcome) if self._remaining else None
            if rest is None:
                return Delivered(result=outcome, attempts=attempt)
            event = rest
            failure = Failure(
                error="the function reported these items as failed",
                kind="ItemsFailed",
                attempts=attempt,
            )
        if attempt >= self._policy.max_attempts:
            return await self._give_up(event, failure)
        return Retry(event=event, failure=failure, delay_s=self._policy.backoff.delay(attempt))

    async def _give_up(self, event: E, failure: Failure) -> DeadLettered:
        if self._dead_letter is None:
            raise DeliveryStuck(
                f"failed {failure.attempts} time(s) ({failure.kind}: {failure.error}) "
                "and no dead letter is configured",
                attempts=failure.attempts,
            )
        try:
            await self._dead_letter(event, failure)
        except Exception as exc:
            log.error("dead letter failed after %d attempt(s): %s", failure.attempts, exc)
            raise DeliveryStuck(
                f"failed {failure.attempts} time(s) ({failure.kind}: {failure.error}) and "
                f"the dead letter failed too: {exc}",
                attempts=failure.attempts,
            ) from exc
        return DeadLettered(failure=failure)
