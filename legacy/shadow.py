"""Shadow copies: the old API answered the client; the function is asked the same in the
background and the two answers are compared.

The client is never kept waiting for this: a copy is offered after the old API's answer
was streamed to the client, and offering is a bounded append that never blocks. At most
`shadow.queue` copies wait and `shadow.concurrency` run; a copy beyond the queue is
dropped and counted on its route (`shadow_dropped`), never silently lost. Which
requests are copied at all (`shadow.rate` a second per route) the router decides when a
request arrives, before capturing anything (legacy.router).

Noise is learned as Diffy does: for a `noise_sample` share of the copies the old API is
asked the same request a second time, and the JSON paths where its two answers differ
(random ids, timestamps) are noise from then on, never counted as a mismatch.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

from legacy.compare import Difference
from legacy.config import CompareConfig, ShadowConfig
from legacy.evidence import RouteEvidence
from legacy.ports import (
    CapturedResponse,
    FunctionCaller,
    FunctionUnavailable,
    ProxiedRequest,
    Proxy,
    UpstreamError,
)

log = logging.getLogger("gaia.legacy.shadow")


@dataclass(frozen=True, kw_only=True)
class ShadowCopy:
    window: RouteEvidence
    target: str
    request: ProxiedRequest
    body: bytes
    params: Mapping[str, str]
    old: CapturedResponse
    compare: CompareConfig


def request_line(request: ProxiedRequest) -> str:
    query = request.query_string.decode("latin-1")
    return f"{request.method} {request.path}{'?' + query if query else ''}"


class ShadowPool:
    def __init__(
        self,
        *,
        settings: ShadowConfig,
        proxy: Proxy,
        functions: FunctionCaller,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self._proxy = proxy
        self._functions = functions
        self._clock = clock
        self._rand = rand
        self._waiting: deque[ShadowCopy] = deque()
        self._running: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def configure(self, settings: ShadowConfig) -> None:
        """New limits; copies already waiting or running finish as they are."""
        self._settings = settings
        self._pump()

    def use_proxy(self, proxy: Proxy) -> None:
        """The old API's proxy for the noise samples from now on."""
        self._proxy = proxy

    def room(self) -> bool:
        """Whether a copy offered now would be queued (else it is dropped)."""
        return len(self._waiting) < self._settings.queue

    def offer(self, copy: ShadowCopy) -> bool:
        """Queue a copy; False (and counted on its route) when the queue is full."""
        if len(self._waiting) >= self._settings.queue:
            copy.window.shadow_dropped += 1
            return False
        self._waiting.append(copy)
        self._idle.clear()
        self._pump()
        return True

    async def idle(self) -> None:
        """Until no copy waits or runs."""
        await self._idle.wait()

    async def aclose(self) -> None:
        for copy in self._waiting:
            copy.window.shadow_dropped += 1
        self._waiting.clear()
        for task in list(self._running):
            task.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)
        self._idle.set()

    def _pump(self) -> None:
        while self._waiting and len(self._running) < self._settings.concurrency:
            task = asyncio.create_task(self._run(self._waiting.popleft()))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._pump()
        if not self._running and not self._waiting:
            self._idle.set()

    async def _run(self, copy: ShadowCopy) -> None:
        try:
            await self._compare_copy(copy)
        except Exception:
            # A bug here must not take the pool down; the copy is simply not compared.
            log.exception("shadow copy of %s failed", request_line(copy.request))

    async def _compare_copy(self, copy: ShadowCopy) -> None:
        window = copy.window
        if self._rand() < self._settings.noise_sample:
            await self._learn(copy)
        started = time.perf_counter()
        try:
            answer = await self._functions.call(
                copy.target, copy.request, copy.body, params=copy.params
            )
        except FunctionUnavailable as exc:
            window.function.record(exc.status, time.perf_counter() - started)
            missing = f"no answer ({exc.status} {exc.reason})"
            differences: Sequence[str] = (
                str(Difference(where="status", old=str(copy.old.status), new=missing)),
            )
        else:
            new = answer.response
            window.function.record(new.status, new.duration_s)
            if copy.request.method == "HEAD":
                # The old API sends no body for HEAD, and a function's would be cut off the
                # same way on its way to a client: there is no body to compare.
                new = replace(new, body=None)
            differences = window.noise.compare(copy.old, new, copy.compare).lines()
        window.compared(differences, request=request_line(copy.request), at=self._clock())

    async def _learn(self, copy: ShadowCopy) -> None:
        try:
            again = await self._proxy.fetch(
                copy.request, body=copy.body, limit=self._settings.capture_limit
            )
        except UpstreamError:
            return
        if again.body is not None:
            copy.window.noise.learn(copy.old, again, copy.compare)
