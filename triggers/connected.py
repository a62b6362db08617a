"""The lifecycle every broker trigger shares; adapters only do the broker's I/O.

Connect, retrying with backoff while the broker cannot be reached (status `connecting`
with the error); consume until stopped; after a failure, disconnect (draining what
runs) and start over (status `failed` with the error until it is back). `stop` ends
the loop within its timeout, then drains and disconnects.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
from typing import ClassVar

from triggers.backoff import Backoff
from triggers.base import Subscriber

log = logging.getLogger("gaia.triggers")

RECONNECT = Backoff(initial_s=0.5, max_s=10.0)


class ConnectedSubscriber(Subscriber):
    broker: ClassVar[str]  # "Kafka", "NATS": for messages
    # What connecting raises when the broker cannot be reached: retried, not fatal.
    connect_errors: ClassVar[tuple[type[BaseException], ...]]

    def __init__(self, *, trigger_id: str, drain_timeout_s: float) -> None:
        self.trigger_id = trigger_id
        self._drain_timeout_s = drain_timeout_s
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._status = "starting"
        self._error: str | None = None

    @abc.abstractmethod
    async def _connect(self) -> None:
        """Connect and subscribe; raise one of `connect_errors` to be retried."""

    @abc.abstractmethod
    async def _consume(self) -> None:
        """Take events until `_stopping` is set; return then."""

    @abc.abstractmethod
    async def _disconnect(self, *, timeout_s: float) -> None:
        """Let in-flight events finish within `timeout_s`, acknowledge them, disconnect."""

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"{self.kind} {self.trigger_id}")

    async def stop(self, *, timeout_s: float) -> None:
        self._stopping.set()
        if self._task is not None:
            # The loop notices within one fetch, unless it waits behind slow work; the
            # drain in _disconnect gives that work its time anyway.
            await asyncio.wait([self._task], timeout=timeout_s)
            if not self._task.done():
                self._task.cancel()
                await asyncio.wait([self._task])
        await self._disconnect(timeout_s=timeout_s)
        self._status = "stopped"

    async def _run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                await self._connect()
            except self.connect_errors as exc:
                attempt += 1
                self._status, self._error = "connecting", _text(exc)
                log.warning(
                    "%s: cannot reach %s (%s); retrying", self.trigger_id, self.broker, self._error
                )
                await self._pause(RECONNECT.cap(attempt))
                continue
            self._status, self._error = "running", None
            try:
                await self._consume()
                return  # stopping: stop() drains and disconnects
            except Exception as exc:  # never let the trigger die silently: start over
                log.exception(
                    "%s: the %s consumer failed; reconnecting", self.trigger_id, self.broker
                )
                self._status, self._error = "failed", _text(exc)
            await self._disconnect(timeout_s=self._drain_timeout_s)
            attempt += 1
            await self._pause(RECONNECT.cap(attempt))

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake up for a stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
