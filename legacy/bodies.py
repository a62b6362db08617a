"""A request body read up to a limit, without losing it when it turns out to be larger.

A shadowed request's body is kept to be sent to the function too, but only up to the
capture limit: a larger one is streamed to the old API as it arrives and not copied.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from starlette.types import Message, Receive


@dataclass(frozen=True, kw_only=True)
class BoundedBody:
    # None: over the limit (or the client left); `receive` still gives the whole body.
    body: bytes | None
    receive: Receive


def _declared_over(headers: list[tuple[bytes, bytes]], limit: int) -> bool:
    return any(
        name == b"content-length" and value.isdigit() and int(value) > limit
        for name, value in headers
    )


async def read_bounded(
    receive: Receive, headers: list[tuple[bytes, bytes]], *, limit: int
) -> BoundedBody:
    if _declared_over(headers, limit):
        return BoundedBody(body=None, receive=receive)
    read: list[Message] = []
    size = 0
    while True:
        message = await receive()
        read.append(message)
        if message["type"] != "http.request":
            return BoundedBody(body=None, receive=_replay(read, receive))
        size += len(message.get("body", b""))
        if size > limit:
            return BoundedBody(body=None, receive=_replay(read, receive))
        if not message.get("more_body", False):
            return BoundedBody(body=b"".join(m.get("body", b"") for m in read), receive=receive)


def _replay(read: list[Message], receive: Receive) -> Receive:
    """The messages already read, then the rest from `receive`."""
    pending = deque(read)

    async def replay() -> Message:
        return pending.popleft() if pending else await receive()

    return replay
