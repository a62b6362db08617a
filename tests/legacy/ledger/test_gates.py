"""The promotion gates against their definitions, computed independently with integer and
decimal arithmetic over generated evidence; boundaries exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legacy.config import STATES, GatesConfig
from legacy.ledger import crossed_gates, judge
from tests.legacy.evidence import evidence

THRESHOLDS = st.sampled_from([0.0, 0.001, 0.01, 0.015, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0])


@given(
    mismatches_samples=st.integers(0, 2000).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    ),
    threshold=THRESHOLDS,
    min_samples=st.integers(1, 500),
)
def test_shadow_to_canary_passes_exactly_when_the_rate_is_under_over_enough_samples(
    mismatches_samples: tuple[int, int], threshold: float, min_samples: int
) -> None:
    mismatches, samples = mismatches_samples
    gates = GatesConfig(mismatch_rate=threshold, min_samples=min_samples)
    verdict = judge("mismatch_rate", evidence(samples=samples, mismatches=mismatches), gates)
    # The definition: mismatches / samples < threshold, the threshold as written.
    expected = samples >= min_samples and Decimal(mismatches) < Decimal(str(threshold)) * samples
    assert verdict.passed is expected


@given(
    legacy=st.integers(0, 500).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
    function=st.integers(0, 500).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))),
)
def test_canary_to_function_passes_exactly_when_the_function_is_no_worse(
    legacy: tuple[int, int], function: tuple[int, int]
) -> None:
    verdict = judge("error_rate", evidence(legacy=legacy, function=function), GatesConfig())
    (lr, le), (fr, fe) = legacy, function
    expected = lr > 0 and fr > 0 and fe * lr <= le * fr
    assert verdict.passed is expected


@pytest.mark.parametrize(
    ("samples", "mismatches", "passed", "reason"),
    [
        # 1 in 100 is 1%: not under 1% (the float 0.01 is a hair above 1/100).
        (100, 1, False, "mismatch rate 1.0% (1 of 100) over 100 samples is not under 1.0%"),
        (101, 1, True, "mismatch rate 0.99% (1 of 101) over 101 samples is under 1.0%"),
        (100, 0, True, "mismatch rate 0.0% (0 of 100) over 100 samples is under 1.0%"),
        (140, 5, False, "mismatch rate 3.6% (5 of 140) over 140 samples is not under 1.0%"),
        (99, 0, False, "only 99 shadow samples (0 mismatched, 0.0%): at least 100 are needed"),
        (0, 0, False, "no shadow samples yet: at least 100 are needed"),
    ],
)
def test_mismatch_gate_boundaries_and_messages(
    samples: int, mismatches: int, passed: bool, reason: str
) -> None:
    verdict = judge(
        "mismatch_rate", evidence(samples=samples, mismatches=mismatches), GatesConfig()
    )
    assert (verdict.passed, verdict.reason) == (passed, reason)


@pytest.mark.parametrize(
    ("legacy", "function", "passed", "reason"),
    [
        (
            (200, 2),
            (100, 1),
            True,
            "function error rate 1.0% (1 of 100) is no worse than the old API's 1.0% (2 of 200)",
        ),
        (
            (300, 3),
            (50, 2),
            False,
            "function error rate 4.0% (2 of 50) is worse than the old API's 1.0% (3 of 300)",
        ),
        (
            (0, 0),
            (10, 0),
            False,
            "the error rates need requests on both sides, and the old API has 0, the function 10",
        ),
        (
            (10, 0),
            (0, 0),
            False,
            "the error rates need requests on both sides, and the old API has 10, the function 0",
        ),
    ],
)
def test_error_gate_boundaries_and_messages(
    legacy: tuple[int, int], function: tuple[int, int], passed: bool, reason: str
) -> None:
    verdict = judge("error_rate", evidence(legacy=legacy, function=function), GatesConfig())
    assert (verdict.passed, verdict.reason) == (passed, reason)


def test_no_evidence_at_all_is_refused_with_the_counts() -> None:
    assert not judge("mismatch_rate", None, GatesConfig()).passed
    assert "the old API has 0, the function 0" in judge("error_rate", None, GatesConfig()).reason


def test_a_move_crosses_every_gate_between_its_states_and_no_gate_backwards() -> None:
    expected = {
        ("legacy", "shadow"): (),
        ("shadow", "canary"): ("mismatch_rate",),
        ("legacy", "canary"): ("mismatch_rate",),
        ("canary", "function"): ("error_rate",),
        ("shadow", "function"): ("mismatch_rate", "error_rate"),
        ("legacy", "retired"): ("mismatch_rate", "error_rate"),
        ("function", "retired"): (),
    }
    for before in STATES:
        for after in STATES:
            gates = crossed_gates(before, after)
            if STATES.index(after) <= STATES.index(before):
                assert gates == (), (before, after)
            elif (before, after) in expected:
                assert gates == expected[(before, after)], (before, after)
