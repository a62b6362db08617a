"""Who follows the dashboard, and what each follower has yet to be told.

Publishing marks a topic pending on every follower and wakes it; a follower's stream
then sends the latest of each pending topic once, however often it was marked, so a
slow reader costs one message per topic, never a queue. With no follower, publishing
is a loop over an empty set.
"""

from __future__ import annotations

import asyncio

CLOSE = "close"


class Follower:
    def __init__(self) -> None:
        self._pending: set[str] = set()
        self._wake = asyncio.Event()

    def mark(self, topic: str) -> None:
        self._pending.add(topic)
        self._wake.set()

    async def next(self, timeout_s: float) -> set[str]:
        """The topics marked since the last call; empty when `timeout_s` passes first."""
        try:
            await asyncio.wait_for(self._wake.wait(), timeout_s)
        except TimeoutError:
            return set()
        self._wake.clear()
        pending, self._pending = self._pending, set()
        return pending


class Feed:
    def __init__(self) -> None:
        self._followers: set[Follower] = set()
        self._closed = False

    @property
    def followers(self) -> int:
        return len(self._followers)

    def follow(self) -> Follower:
        follower = Follower()
        self._followers.add(follower)
        if self._closed:
            follower.mark(CLOSE)
        return follower

    def leave(self, follower: Follower) -> None:
        self._followers.discard(follower)

    def publish(self, topic: str) -> None:
        for follower in self._followers:
            follower.mark(topic)

    def close(self) -> None:
        """End every stream (the gateway is stopping): open ones would hold its shutdown."""
        self._closed = True
        self.publish(CLOSE)


def event(name: str, data: str) -> bytes:
    """One Server-Sent Events message; `data` is JSON, which holds no raw newline."""
    return f"event: {name}\ndata: {data}\n\n".encode()
