from __future__ import annotations

import pytest

from runtime_adapters.base import (
    FunctionFailed,
    InvocationResult,
    RuntimeAdapterError,
    WarmupError,
)
from triggers.backoff import Backoff
from triggers.pipeline import DeadLettered, Delivered, DeliveryStuck, Failure, Pipeline, RetryPolicy

OK = InvocationResult(status=200, headers=[], body=b"ok")
POLICY = RetryPolicy(max_attempts=3, backoff=Backoff(initial_s=0.1, max_s=1.0))


class Script:
    """Invocations that fail the first `failures` times, then succeed."""

    def __init__(self, failures: int, error: RuntimeAdapterError | None = None) -> None:
        self.failures = failures
        self.error = error or FunctionFailed("boom", traceback="tb")
        self.attempts: list[int] = []
        self.dead: list[tuple[str, Failure]] = []
        self.sleeps: list[float] = []

    async def invoke(self, event: str, attempt: int) -> InvocationResult:
        self.attempts.append(attempt)
        if attempt <= self.failures:
            raise self.error
        return OK

    async def dead_letter(self, event: str, failure: Failure) -> None:
        self.dead.append((event, failure))

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _pipeline(script: Script, *, dead_letter: bool = True) -> Pipeline[str]:
    return Pipeline(
        invoke=script.invoke,
        dead_letter=script.dead_letter if dead_letter else None,
        policy=POLICY,
        sleep=script.sleep,
    )


async def test_a_retried_event_succeeds_with_backoff_between_attempts() -> None:
    script = Script(failures=2)
    outcome = await _pipeline(script).deliver("e1")
    assert outcome == Delivered(result=OK, attempts=3)
    assert script.attempts == [1, 2, 3]
    assert len(script.sleeps) == 2
    assert 0 <= script.sleeps[0] <= 0.1 and 0 <= script.sleeps[1] <= 0.2
    assert script.dead == []


async def test_exhausted_retries_go_to_the_dead_letter_with_the_reason() -> None:
    script = Script(failures=99)
    outcome = await _pipeline(script).deliver("poison")
    assert isinstance(outcome, DeadLettered)
    assert script.dead == [("poison", Failure(error="boom", kind="FunctionFailed", attempts=3))]


async def test_errors_that_retrying_cannot_fix_are_not_retried() -> None:
    script = Script(failures=99, error=WarmupError("cannot import handler"))
    outcome = await _pipeline(script).deliver("e")
    assert isinstance(outcome, DeadLettered)
    assert script.attempts == [1]


async def test_without_a_dead_letter_the_event_is_stuck_never_dropped() -> None:
    script = Script(failures=99)
    with pytest.raises(DeliveryStuck, match="no dead letter is configured") as stuck:
        await _pipeline(script, dead_letter=False).deliver("e")
    assert stuck.value.attempts == 3


async def test_a_failing_dead_letter_leaves_the_event_stuck() -> None:
    script = Script(failures=99)

    async def broken(event: str, failure: Failure) -> None:
        raise ConnectionError("dead-letter topic unreachable")

    pipeline = Pipeline(invoke=script.invoke, dead_letter=broken, policy=POLICY, sleep=script.sleep)
    with pytest.raises(DeliveryStuck, match="dead-letter topic unreachable"):
        await pipeline.deliver("e")


async def test_a_5xx_answer_is_a_failure_too() -> None:
    calls = 0

    async def answers_503(event: str, attempt: int) -> InvocationResult:
        nonlocal calls
        calls += 1
        return InvocationResult(status=503, headers=[], body=b"")

    script = Script(failures=0)
    pipeline = Pipeline(
        invoke=answers_503, dead_letter=script.dead_letter, policy=POLICY, sleep=script.sleep
    )
    outcome = await pipeline.deliver("e")
    assert isinstance(outcome, DeadLettered) and outcome.failure.kind == "ErrorStatus"
    assert calls == 3
