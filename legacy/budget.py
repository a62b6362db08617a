"""The retry budget: how many fallbacks to the old API a failing function may cost.

A token bucket credited `ratio` of a token for every request sent to the function and
debited one token per fallback. Fallbacks therefore never exceed `ratio` times the
requests sent to the function, at any moment, from the first request on: the bucket
starts empty, so there is no allowance that was not earned. The bucket is capped so that
a long healthy stretch does not bank an allowance that an outage would then spend all at
once on the old API: at most `burst` fallbacks in a row beyond the steady share.

A per-second rate (Finagle's `minRetriesPerSec`) would let a quiet route fall back
every time, but it breaks the bound the issue sets (at most 10% extra requests), so it
is left out.
"""

from __future__ import annotations

# Fallbacks that may be banked beyond the steady share.
DEFAULT_BURST = 10
# Tokens are counted in millionths, in integers, so ten credits of 0.1 pay for exactly
# one fallback and the bound holds without float rounding.
_TOKEN = 1_000_000


class RetryBudget:
    __slots__ = ("_balance", "_cap", "_credit", "fallbacks", "requests")

    def __init__(self, ratio: float, *, burst: int = DEFAULT_BURST) -> None:
        if not 0 <= ratio <= 1:
            raise ValueError(f"retry budget ratio {ratio!r} is out of range: expected 0 to 1")
        if burst < 1:
            raise ValueError(f"retry budget burst {burst!r} is out of range: expected 1 or more")
        # Rounded down, so the budget never grants more than the ratio says.
        self._credit = int(ratio * _TOKEN)
        self._cap = burst * _TOKEN
        self._balance = 0
        self.requests = 0
        self.fallbacks = 0

    def credit(self) -> None:
        """One more request went to the function."""
        self.requests += 1
        self._balance = min(self._cap, self._balance + self._credit)

    def try_spend(self) -> bool:
        """Take one fallback from the budget; False when there is none left."""
        if self._balance < _TOKEN:
            return False
        self._balance -= _TOKEN
        self.fallbacks += 1
        return True
