from __future__ import annotations

import pytest

from runtime_adapters.base import (
    FunctionFailed,
    InvocationResult,
    RuntimeAdapterError,
    WarmupError,
)
from triggers.backoff import Backoff
from triggers.pipeline import (
    DeadLettered,
    Delivered,
    DeliveryStuck,
    Failure,
    Pipeline,
    Retry,
    RetryPolicy,
)

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


async def test_one_attempt_at_a_time_for_a_source_that_redelivers_itself() -> None:
    script = Script(failures=5)
    pipeline = _pipeline(script)
    first = await pipeline.attempt("e1", attempt=1)
    assert isinstance(first, Retry) and first.event == "e1"
    assert 0 <= first.delay_s <= 0.1 and first.failure.kind == "FunctionFailed"
    assert script.dead == [] and script.sleeps == [], "the source waits, not the pipeline"
    last = await pipeline.attempt("e1", attempt=3)
    assert isinstance(last, DeadLettered) and last.failure.attempts == 3
    assert [event for event, _ in script.dead] == ["e1"]
    assert await _pipeline(Script(failures=0)).attempt("e2", attempt=2) == Delivered(
        result=OK, attempts=2
    )


async def test_a_batch_that_partly_failed_retries_only_the_failed_part() -> None:
    calls: list[tuple[str, ...]] = []

    async def invoke(event: tuple[str, ...], attempt: int) -> InvocationResult:
        calls.append(event)
        return OK

    def remaining(event: tuple[str, ...], result: InvocationResult) -> tuple[str, ...] | None:
        failed = tuple(item for item in event if item.startswith("bad"))
        return failed or None

    dead: list[tuple[str, ...]] = []

    async def dead_letter(event: tuple[str, ...], failure: Failure) -> None:
        dead.append(event)

    async def no_sleep(seconds: float) -> None:
        return None

    pipeline: Pipeline[tuple[str, ...]] = Pipeline(
        invoke=invoke, dead_letter=dead_letter, policy=POLICY, remaining=remaining, sleep=no_sleep
    )
    outcome = await pipeline.deliver(("a", "bad1", "b", "bad2"))
    assert calls == [("a", "bad1", "b", "bad2"), ("bad1", "bad2"), ("bad1", "bad2")]
    assert isinstance(outcome, DeadLettered) and outcome.failure.kind == "ItemsFailed"
    assert dead == [("bad1", "bad2")]
