"""The canary split: which of a route's requests the function answers.

With a sticky key (the value of the alias's `sticky`, e.g. a user id header) the side
is a stable hash of the route and the key, so one user stays on one side on every
replica and across restarts; raising the percent only moves keys from the old API to
the function, never back. Without one the draw is random, each request on its own.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from hashlib import blake2b

from routing.aliases import stable_unit


class CanarySplit:
    __slots__ = ("_fraction", "_rand", "_seed")

    def __init__(
        self, *, route: str, percent: float, rand: Callable[[], float] = random.random
    ) -> None:
        if not 0 <= percent <= 100:
            raise ValueError(f"canary percent {percent!r} is out of range: expected 0 to 100")
        self._fraction = percent / 100
        # Seeded by the route, so a key's side on one route says nothing about another's.
        self._seed = blake2b(route.encode() + b"\0", digest_size=8)
        self._rand = rand

    def to_function(self, sticky_key: str | None) -> bool:
        if sticky_key is None:
            return self._rand() < self._fraction
        return stable_unit(self._seed, sticky_key.encode("utf-8", "surrogatepass")) < self._fraction
