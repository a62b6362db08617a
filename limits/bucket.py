"""A token bucket kept in this process: `rate` tokens a second, at most `capacity` held.

It serves a `rate_limit` without `redis`, and a shared one while its Redis server is
unreachable (with this replica's share of the rate). Time comes from the caller, so the
arithmetic is the same in tests with a made-up clock.
"""

from __future__ import annotations


class TokenBucket:
    __slots__ = ("_at", "_tokens", "capacity", "rate")

    def __init__(self, *, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity  # a new bucket starts full, as Redis's does
        self._at = now

    def holds_one(self, now: float) -> bool:
        """Whether `take` would give a token now (nothing is taken)."""
        if now > self._at:
            return min(self.capacity, self._tokens + (now - self._at) * self.rate) >= 1.0
        return self._tokens >= 1.0

    def take(self, now: float) -> float:
        """Take one token: 0.0 when there was one, else the seconds until there is."""
        tokens = self._tokens
        if now > self._at:
            tokens = min(self.capacity, tokens + (now - self._at) * self.rate)
            self._at = now
        if tokens >= 1.0:
            self._tokens = tokens - 1.0
            return 0.0
        self._tokens = tokens
        return (1.0 - tokens) / self.rate
