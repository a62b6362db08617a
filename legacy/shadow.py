"""Shadow copies: the old API answered the client; the function is asked the same in the
background and the two answers are compared.

The client is never kept waiting for this: a copy is offered after the old API's answer
was streamed to the client, and offering is a bounded append that never blocks. At most
`shadow.queue` copies wait and `shadow.concurrency` run; a copy beyond the queue is
dropped and counted on its route (`shadow_dropped`), never silently lost.

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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from legacy.config import ShadowConfig
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


class Compare(Protocol):
    """`legacy.compare.compare`: what differs between the old API's answer and the
    function's, as readable lines (`status`, `header:NAME`, JSON paths)."""

    def __call__(
        self,
        old: CapturedResponse,
        new: CapturedResponse,
        *,
        headers: Sequence[str],
        ignore: Sequence[str],
        noise: Iterable[str],
    ) -> Sequence[str]: ...


# `legacy.noise`: the JSON paths where two answers of the old API to one request differ.
LearnNoise = Callable[[CapturedResponse, CapturedResponse], Iterable[str]]


@dataclass(frozen=True, kw_only=True)
class ShadowCopy:
    window: RouteEvidence
    target: str
    request: ProxiedRequest
    body: bytes
    params: Mapping[str, str]
    old: CapturedResponse
    # The route's `compare` settings.
    headers: tuple[str, ...]
    ignore: tuple[str, ...]


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
        compare: Compare,
        learn_noise: LearnNoise,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self._proxy = proxy
        self._functions = functions
        self._compare = compare
        self._learn_noise = learn_noise
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
            differences: Sequence[str] = (
                f"status: {copy.old.status} != no answer ({exc.status} {exc.reason})",
            )
        else:
            new = answer.response
            window.function.record(new.status, new.duration_s)
            differences = self._compare(
                copy.old, new, headers=copy.headers, ignore=copy.ignore, noise=window.noise
            )
        window.compared(differences, request=request_line(copy.request), at=self._clock())

    async def _learn(self, copy: ShadowCopy) -> None:
        try:
            again = await self._proxy.fetch(
                copy.request, body=copy.body, limit=self._settings.capture_limit
            )
        except UpstreamError:
            return
        if again.body is not None:
            copy.window.learned(self._learn_noise(copy.old, again))
