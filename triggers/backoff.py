"""Exponential backoff with full jitter, shared by every queue trigger's retries.

Full jitter (a uniform draw between 0 and the exponential cap) spreads the retries of
many failing events instead of sending them back in lockstep.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Backoff:
    initial_s: float = 0.1
    max_s: float = 30.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s or self.multiplier < 1:
            raise ValueError(
                f"invalid backoff {self}: expected 0 < initial <= max and multiplier >= 1"
            )

    def cap(self, attempt: int) -> float:
        """The longest wait after failed attempt number `attempt` (1-based)."""
        return min(self.max_s, self.initial_s * self.multiplier ** (attempt - 1))

    def delay(self, attempt: int, *, rand: Callable[[], float] = random.random) -> float:
        return self.cap(attempt) * rand()
