"""The circuit breaker: consecutive failures against `pybreaker` as an oracle, and the
error-rate rule, on a made-up clock."""

from __future__ import annotations

import contextlib
import random
from datetime import UTC, datetime, timedelta

import pybreaker
import pytest

from limits.circuit import PASS, PROBE, REFUSE, CircuitBreaker
from limits.spec import CircuitSpec

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


class Failure(Exception):
    pass


@pytest.mark.parametrize("seed", range(30))
def test_consecutive_failures_open_and_probes_close_as_pybreaker_does(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    now = [0.0]

    class Clock(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Clock:
            return EPOCH + timedelta(seconds=now[0])  # type: ignore[return-value]

    monkeypatch.setattr(pybreaker, "datetime", Clock)
    failures, cooldown = rng.randint(1, 6), rng.choice([0.5, 2.0, 30.0])
    oracle = pybreaker.CircuitBreaker(fail_max=failures, reset_timeout=cooldown)
    ours = CircuitBreaker(
        spec(failures=failures, cooldown=cooldown, min_requests=1_000_000), name="f@1"
    )
    failing = rng.random() < 0.5
    for step in range(400):
        # Steps that never add up to the cooldown exactly: at the boundary itself
        # pybreaker rounds to microseconds.
        now[0] += rng.choice([0.0, 0.0137, 0.1031, cooldown / 2.9, cooldown * 1.1])
        if rng.random() < 0.1:
            failing = not failing  # spells of failures and of successes
        ran_oracle = False

        def call(fail: bool = failing) -> None:
            nonlocal ran_oracle
            ran_oracle = True
            if fail:
                raise Failure

        with contextlib.suppress(Failure, pybreaker.CircuitBreakerError):
            oracle.call(call)
        verdict = ours.admit(now[0])
        if verdict != REFUSE:
            ours.record(failed=failing, probe=verdict == PROBE, now=now[0])
        assert (verdict != REFUSE) == ran_oracle, f"step {step}"
        assert ours.state.replace("_", "-") == oracle.current_state, f"step {step}"


def state_of(breaker: CircuitBreaker) -> str:
    """Its state, read afresh (mypy narrows an attribute it saw compared before)."""
    return breaker.state


def spec(**keys: object) -> CircuitSpec:
    return CircuitSpec.model_validate(keys)


def test_an_error_rate_over_the_threshold_in_the_window_opens_it() -> None:
    breaker = CircuitBreaker(
        spec(failures=100, error_rate="50%", window="10s", min_requests=10, cooldown="5s"),
        name="f@1",
    )
    # Alternating: never 2 failures in a row, a 50% error rate.
    for n in range(9):
        breaker.record(failed=n % 2 == 0, probe=False, now=float(n))
    assert breaker.state == "closed"  # 9 answers: fewer than min_requests
    breaker.record(failed=True, probe=False, now=9.0)
    assert state_of(breaker) == "open"
    assert breaker.reason == "6 of its last 10 answers failed (error_rate 50%)"
    assert breaker.admit(13.9) == REFUSE
    assert breaker.admit(14.0) == PROBE
    assert breaker.admit(14.0) == REFUSE  # one probe at a time
    breaker.record(failed=False, probe=True, now=14.1)
    assert breaker.state == "closed"
    assert breaker.admit(14.2) == PASS


def test_answers_older_than_the_window_do_not_count() -> None:
    breaker = CircuitBreaker(
        spec(failures=100, error_rate="50%", window="10s", min_requests=6), name="f@1"
    )
    for t, failed in ((0.0, True), (0.2, False), (0.4, True), (0.6, False), (1.0, True)):
        breaker.record(failed=failed, probe=False, now=t)
    # Counted with the five above, this sixth answer would open the circuit (4 of 6).
    breaker.record(failed=True, probe=False, now=12.0)
    assert breaker.state == "closed"
    for t, failed in ((12.2, False), (12.4, True), (12.6, False), (12.8, True)):
        breaker.record(failed=failed, probe=False, now=t)
    assert breaker.state == "closed"  # 3 of 5 in the window: fewer than min_requests
    breaker.record(failed=True, probe=False, now=13.0)
    assert state_of(breaker) == "open"
    assert breaker.reason == "4 of its last 6 answers failed (error_rate 50%)"


def test_a_probe_that_never_reports_gives_way_after_a_cooldown() -> None:
    breaker = CircuitBreaker(spec(failures=1, cooldown="2s"), name="f@1")
    breaker.record(failed=True, probe=False, now=0.0)
    assert breaker.admit(2.0) == PROBE
    assert breaker.admit(3.9) == REFUSE
    assert breaker.admit(4.0) == PROBE
