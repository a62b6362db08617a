"""The retry budget never lets fallbacks pass its share of the function's requests."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legacy.budget import RetryBudget
from legacy.ports import ProxiedRequest
from tests.legacy.fakes import Answer, call, json_answer, unavailable
from tests.legacy.stage import legacy_config, stage

ratios = st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.25, 1 / 3, 0.5, 1.0]) | st.floats(0, 1)
# A request to the function, and whether it failed (and so asked for a fallback).
traffic = st.lists(st.booleans(), max_size=400)


@given(ratio=ratios, failures=traffic, burst=st.integers(1, 20))
def test_fallbacks_never_pass_the_ratio_of_requests(
    ratio: float, failures: list[bool], burst: int
) -> None:
    budget = RetryBudget(ratio, burst=burst)
    for failed in failures:
        budget.credit()
        if failed:
            budget.try_spend()
        assert budget.fallbacks <= ratio * budget.requests + 1e-9


@given(ratio=ratios, healthy=st.integers(0, 500), outage=st.integers(0, 500))
def test_an_outage_after_a_healthy_stretch_spends_at_most_the_burst_beyond_the_share(
    ratio: float, healthy: int, outage: int
) -> None:
    budget = RetryBudget(ratio, burst=10)
    for _ in range(healthy):
        budget.credit()
    for _ in range(outage):
        budget.credit()
        budget.try_spend()
    # Never more than earned, nor than the banked burst plus the outage's own share.
    assert budget.fallbacks <= ratio * (healthy + outage) + 1e-9
    assert budget.fallbacks <= 10 + ratio * outage + 1e-9
    # And the budget is really there: what was banked is spent first (one fallback per
    # failed request), and the steady share is granted however long the outage lasts.
    # (In the budget's own unit, millionths of a fallback, rounded down as it rounds.)
    credit = int(ratio * 1_000_000)
    banked = min(10, healthy * credit // 1_000_000)
    assert budget.fallbacks >= min(outage, banked)
    assert budget.fallbacks >= outage * credit // 1_000_000


def test_a_tenth_pays_for_exactly_one_fallback_per_ten_requests() -> None:
    budget = RetryBudget(0.1)
    granted = []
    for _ in range(100):
        budget.credit()
        granted.append(budget.try_spend())
    assert [i for i, ok in enumerate(granted) if ok] == list(range(9, 100, 10))


@pytest.mark.parametrize("ratio", [-0.1, 1.5])
def test_a_ratio_out_of_range_is_refused(ratio: float) -> None:
    with pytest.raises(ValueError, match=rf"ratio {ratio} is out of range: expected 0 to 1"):
        RetryBudget(ratio)


def old(request: ProxiedRequest, body: bytes) -> Answer:
    return json_answer({"from": "old"})


async def test_a_failing_function_costs_the_old_api_at_most_the_budget() -> None:
    config = legacy_config(
        [{"path": "/items/{id}", "function": "items", "state": "function"}], retry_budget=0.1
    )
    s = stage(config, old, unavailable(500))
    statuses = [(await call(s.router, "GET", f"/items/{i}")).status for i in range(200)]
    # Every tenth failure is answered by the old API, the rest with the function's error.
    assert len(s.proxy.asked) == 20
    assert statuses.count(200) == 20 and statuses.count(500) == 180
    evidence = s.book.evidence("/items/{id}")
    assert evidence is not None
    assert (evidence.function.errors, evidence.legacy.requests) == (200, 20)
