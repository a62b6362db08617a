"""A proxy that knows its requests in flight, so one replaced at run time (new upstreams
or timeouts applied) is closed once they are done, within a deadline, and not under them.
"""

from __future__ import annotations

import asyncio
import logging

from starlette.types import Receive, Send

from gateway.http.splice import RequestHead, Splice, SpliceOutcome
from legacy.done import SpliceDone
from legacy.ports import CapturedResponse, ForwardOutcome, ProxiedRequest, Proxy
from legacy.proxy.proxy import LegacyProxy

log = logging.getLogger("gaia.legacy.handover")


class TrackedProxy:
    """`ports.Proxy` over another, counting the requests it is still serving."""

    def __init__(self, inner: Proxy) -> None:
        self._inner = inner
        # The gateway's own proxy, whose splices are asked for at C level (compiled).
        self._legacy = inner if isinstance(inner, LegacyProxy) else None
        self.in_flight = 0
        # Made only by `retire` while requests are in flight: an Event kept set and
        # cleared around every request cost two calls a request for a wait that almost
        # never happens.
        self._idle: asyncio.Event | None = None

    async def forward(
        self,
        request: ProxiedRequest,
        receive: Receive,
        send: Send,
        *,
        body: bytes | None = None,
        capture_limit: int = 0,
    ) -> ForwardOutcome:
        self._enter()
        try:
            return await self._inner.forward(
                request, receive, send, body=body, capture_limit=capture_limit
            )
        finally:
            self._leave()

    async def fetch(self, request: ProxiedRequest, *, body: bytes, limit: int) -> CapturedResponse:
        self._enter()
        try:
            return await self._inner.fetch(request, body=body, limit=limit)
        finally:
            self._leave()

    def splice(self, head: RequestHead, done: SpliceDone, capture_limit: int) -> Splice | None:
        leaving = _Leaving.__new__(_Leaving)  # no constructor's argument parsing
        leaving._proxy = self
        leaving._done = done
        legacy = self._legacy
        splice = (
            legacy.splice(head, leaving, capture_limit)
            if legacy is not None
            else self._inner.splice(head, leaving, capture_limit)
        )
        if splice is not None:
            self.in_flight += 1
        return splice

    async def retire(self, *, timeout_s: float) -> None:
        """Close once no request is in flight, or after `timeout_s` whatever is left (the
        connections still answering finish on their own; only the pool goes)."""
        if self.in_flight:
            self._idle = asyncio.Event()
            try:
                await asyncio.wait_for(self._idle.wait(), timeout_s)
            except TimeoutError:
                log.warning(
                    "closing the replaced old-API proxy with %d requests still in flight after %gs",
                    self.in_flight,
                    timeout_s,
                )
        await self._inner.aclose()

    async def aclose(self) -> None:
        await self._inner.aclose()

    def _enter(self) -> None:
        self.in_flight += 1

    def _leave(self) -> None:
        self.in_flight -= 1
        if not self.in_flight and self._idle is not None:
            self._idle.set()


class _Leaving(SpliceDone):
    """A spliced request's `done`, counting it out of its proxy first."""

    __slots__ = ("_done", "_proxy")

    _proxy: TrackedProxy
    _done: SpliceDone

    def record(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        self._proxy._leave()
        self._done.record(head, outcome)
