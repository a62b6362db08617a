"""The canary split: its share, and one side per sticky key, everywhere."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from legacy.canary import CanarySplit

KEYS = [f"user-{i}" for i in range(20_000)]


@pytest.mark.parametrize("percent", [0, 1, 20, 50, 99.5, 100])
def test_the_share_of_keys_sent_to_the_function_is_the_percent(percent: float) -> None:
    split = CanarySplit(route="/items/{id}", percent=percent)
    share = sum(split.to_function(key) for key in KEYS) / len(KEYS)
    p = percent / 100
    # Within 5 standard deviations of a binomial draw (0 at the ends, where it is exact).
    assert abs(share - p) <= 5 * math.sqrt(p * (1 - p) / len(KEYS))


@given(key=st.text(max_size=40), low=st.floats(0, 100), high=st.floats(0, 100))
def test_raising_the_percent_only_moves_keys_to_the_function(
    key: str, low: float, high: float
) -> None:
    low, high = sorted((low, high))
    before = CanarySplit(route="/a", percent=low).to_function(key)
    after = CanarySplit(route="/a", percent=high).to_function(key)
    assert after or not before


def test_a_key_lands_on_the_same_side_in_every_process() -> None:
    keys = KEYS[:200]
    here = "".join("F" if CanarySplit(route="/a", percent=50).to_function(k) else "L" for k in keys)
    script = (
        "from legacy.canary import CanarySplit\n"
        f"keys = {keys!r}\n"
        "print(''.join('F' if CanarySplit(route='/a', percent=50).to_function(k) else 'L'"
        " for k in keys))\n"
    )
    for seed in ("1", "2"):
        env = os.environ | {"PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == here
    assert 60 < here.count("F") < 140


def test_without_a_key_each_request_is_drawn() -> None:
    draws = iter([0.1, 0.3, 0.29999, 0.9])
    split = CanarySplit(route="/a", percent=30, rand=lambda: next(draws))
    assert [split.to_function(None) for _ in range(4)] == [True, False, True, False]


def test_routes_split_the_same_keys_independently() -> None:
    a, b = CanarySplit(route="/a", percent=50), CanarySplit(route="/b", percent=50)
    agree = sum(a.to_function(k) == b.to_function(k) for k in KEYS) / len(KEYS)
    assert abs(agree - 0.5) <= 5 * math.sqrt(0.25 / len(KEYS))


@pytest.mark.parametrize("percent", [-1, 100.5])
def test_a_percent_out_of_range_is_refused(percent: float) -> None:
    with pytest.raises(ValueError, match=rf"percent {percent} is out of range: expected 0 to 100"):
        CanarySplit(route="/a", percent=percent)
