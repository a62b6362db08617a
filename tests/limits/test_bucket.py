"""The local token bucket against the `token-bucket` library (falconry's) as an oracle:
the same requests at the same made-up times are admitted or refused alike."""

from __future__ import annotations

import random
import types

import pytest
import token_bucket
import token_bucket.storage

from limits.bucket import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


@pytest.mark.parametrize("seed", range(40))
def test_admits_what_the_token_bucket_library_admits(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    clock = Clock()
    monkeypatch.setattr(
        token_bucket.storage, "time", types.SimpleNamespace(monotonic=clock.monotonic)
    )
    rate = rng.choice([0.5, 1, 3, 10, 100, 1000])
    capacity = rng.randint(1, 50)
    oracle = token_bucket.Limiter(rate, capacity, token_bucket.MemoryStorage())
    ours = TokenBucket(rate=rate, capacity=capacity, now=clock.now)
    admitted = 0
    for _ in range(2000):
        # Bursts of requests at one instant, then gaps of various sizes.
        clock.now += rng.choice([0.0, 0.0, 0.0, 0.001, 0.01, 0.1, 1.0, 7.3]) / rate
        expected = oracle.consume(b"k")
        delay = ours.take(clock.now)
        assert (delay == 0.0) == expected, (rate, capacity, clock.now)
        admitted += expected
        if not expected:
            # What our refusal says: after that delay a token is there, and not before.
            assert delay > 0
    assert 0 < admitted < 2000


def test_refusal_says_when_the_next_token_comes() -> None:
    bucket = TokenBucket(rate=4.0, capacity=2, now=0.0)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == pytest.approx(0.25)
    assert bucket.take(0.1) == pytest.approx(0.15)
    assert bucket.take(0.25) == 0.0
