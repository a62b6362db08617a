"""Test kit for NATS triggers: names of their own per test, and listening on a subject."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


@asynccontextmanager
async def connected(url: str) -> AsyncIterator[Client]:
    nc = await nats.connect(url)
    try:
        yield nc
    finally:
        await nc.close()


async def listen(nc: Client, subject: str) -> list[Msg]:
    """Every message published on `subject` from now on, appended as it arrives."""
    received: list[Msg] = []

    async def keep(msg: Msg) -> None:
        received.append(msg)

    await nc.subscribe(subject, cb=keep)
    await nc.flush()
    return received
