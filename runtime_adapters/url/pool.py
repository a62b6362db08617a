"""A url revision's pool: its endpoints, their health checks, and the invocations
waiting for a slot.

Each invocation goes to the endpoint the balancer picks. One whose connection is
refused (so the endpoint never saw it) is tried once on each other endpoint; any
other failure is the caller's (502, 504). Every failure counts towards the endpoint's
ejection. When every routable endpoint has `concurrency` requests outstanding,
invocations wait first come first served, the wait counting against their timeout;
when no endpoint is routable at all they are refused at once (503, `unavailable`),
naming each endpoint's state. Everything runs on the event loop thread, so no locks.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field

from runtime_adapters.base import (
    InstanceLost,
    Invocation,
    InvocationResult,
    InvocationTimeout,
    PoolStatus,
    RevisionSpec,
    RevisionUnknown,
    RuntimeAdapterError,
    Unavailable,
    WarmupError,
)
from runtime_adapters.deadlines import Deadlines
from runtime_adapters.upstream import ConnectionFailed, TimedOut, UpstreamClient
from runtime_adapters.url.balancer import Balancer
from runtime_adapters.url.endpoint import Endpoint
from runtime_adapters.url.health import HealthChecks
from runtime_adapters.url.lease import UrlLease
from runtime_adapters.url.settings import UrlSettings

log = logging.getLogger("gaia.runtime")


@dataclass(eq=False)
class _Waiter:
    future: asyncio.Future[Endpoint]
    tried: list[Endpoint] = field(default_factory=list)


class UrlPool:
    def __init__(self, spec: RevisionSpec) -> None:
        self.spec = spec
        self.key = spec.key
        self._loop = asyncio.get_running_loop()
        settings = UrlSettings.from_dict(spec.settings)
        self._endpoints = tuple(Endpoint(url, outlier=settings.outlier) for url in settings.urls)
        self._balancer = Balancer(self._endpoints, concurrency=spec.concurrency)
        deadlines = Deadlines(self._loop)  # the requests' timeouts, on one timer
        self._clients = {
            e: UpstreamClient(
                host=e.url.host, port=e.url.port, timeout_s=spec.timeout_s, deadlines=deadlines
            )
            for e in self._endpoints
        }
        self._checks = HealthChecks(
            self._endpoints, self._clients, settings.health, on_change=self._health_changed
        )
        self._waiters: deque[_Waiter] = deque()
        self._closed = False
        self._drained = asyncio.Event()

    async def warm(self) -> None:
        """Return once an endpoint has passed its health check; WarmupError naming what
        each one answered when none has."""
        self._checks.start()
        await self._checks.settled()
        if not self._balancer.routable():
            said = "; ".join(f"{e.name}: {e.last_check}" for e in self._endpoints)
            raise WarmupError(
                f"{self.key}: no endpoint passed its health check: {said}", key="urls"
            )

    # --- invocation --------------------------------------------------------------------

    async def invoke(self, invocation: Invocation) -> InvocationResult:
        timeout_s = self.spec.timeout_s
        deadline = self._loop.time() + timeout_s
        tried: list[Endpoint] = []
        while True:
            endpoint = await self._slot(tried)
            client = self._clients[endpoint]
            try:
                result = await client.invoke(invocation, timeout_s=deadline - self._loop.time())
            except TimedOut:
                self.answered(endpoint, f"no answer within {timeout_s:g}s")
                raise InvocationTimeout(
                    f"{self.key}: {endpoint.name} did not answer within {timeout_s:g}s"
                ) from None
            except ConnectionFailed as exc:
                self.answered(endpoint, str(exc))
                if exc.unsent:
                    tried.append(endpoint)
                    continue
                raise InstanceLost(
                    f"{self.key}: {endpoint.name}: no usable answer: {exc}"
                ) from None
            except BaseException:
                self.release(endpoint)  # the caller went away: no verdict on the endpoint
                raise
            self.answered(endpoint, f"answered {result.status}" if result.status >= 500 else None)
            return result

    def lease(self) -> UrlLease | None:
        if self._closed or self._waiters:
            return None  # waiting in line the usual way
        endpoint = self._balancer.pick()
        return None if endpoint is None else UrlLease(self, endpoint)

    def pick(self, *, exclude: list[Endpoint]) -> Endpoint | None:
        """A free slot outside `exclude`, taken, without waiting."""
        return None if self._waiters else self._balancer.pick(exclude=exclude)

    def client_of(self, endpoint: Endpoint) -> UpstreamClient:
        return self._clients[endpoint]

    def untaken(self, tried: list[Endpoint]) -> RuntimeAdapterError:
        """The error of an invocation whose connection every endpoint in `tried` refused."""
        try:
            self._check_routable(tried)
        except RuntimeAdapterError as exc:
            return exc
        return self._untaken_error(tried)

    def _untaken_error(self, tried: list[Endpoint]) -> InstanceLost:
        refused = "; ".join(f"{e.name}: {e.last_failure}" for e in tried)
        return InstanceLost(f"{self.key}: no endpoint took the connection: {refused}")

    async def _slot(self, tried: list[Endpoint]) -> Endpoint:
        """An endpoint with a free slot, waiting in line for one if need be. The wait
        needs no deadline of its own: every slot is given back within the timeout of
        the request holding it, which began before this one."""
        if self._closed:
            raise RevisionUnknown(f"{self.key} is being retired")
        endpoint = None if self._waiters else self._balancer.pick(exclude=tried)
        if endpoint is not None:
            return endpoint
        self._check_routable(tried)
        waiter = _Waiter(self._loop.create_future(), tried)
        self._waiters.append(waiter)
        try:
            return await waiter.future
        except BaseException:
            future = waiter.future
            if future.done() and not future.cancelled() and future.exception() is None:
                self.release(future.result())  # a slot came just as the caller gave up
            if waiter in self._waiters:
                self._waiters.remove(waiter)
            raise

    def _check_routable(self, tried: list[Endpoint]) -> None:
        """Raise when no endpoint can take the invocation however long it waits."""
        if not self._balancer.routable():
            raise Unavailable(f"{self.key}: no endpoint can take requests: {self._states()}")
        if not self._balancer.routable(exclude=tried):
            raise self._untaken_error(tried)

    def _states(self) -> str:
        now = self._loop.time()
        return "; ".join(f"{e.name} {e.state()} ({e.detail(now)})" for e in self._endpoints)

    def answered(self, endpoint: Endpoint, failure: str | None) -> None:
        if endpoint.answered(failure, self._loop.time()):
            self._log_state(endpoint)
            self._checks.reschedule(endpoint)
        self.release(endpoint)

    def release(self, endpoint: Endpoint) -> None:
        endpoint.outstanding -= 1
        self._dispatch()
        if self._closed and not any(e.outstanding for e in self._endpoints):
            self._drained.set()

    def _dispatch(self) -> None:
        """Hand free slots to waiters in order; fail those no endpoint can take."""
        waiters = self._waiters
        while waiters:
            waiter = waiters[0]
            if waiter.future.done():
                waiters.popleft()
                continue
            endpoint = self._balancer.pick(exclude=waiter.tried)
            if endpoint is not None:
                waiters.popleft()
                waiter.future.set_result(endpoint)
                continue
            try:
                self._check_routable(waiter.tried)
            except RuntimeAdapterError as exc:
                waiters.popleft()
                waiter.future.set_exception(exc)
                continue
            return

    def _health_changed(self, endpoint: Endpoint) -> None:
        self._log_state(endpoint)
        self._dispatch()

    def _log_state(self, endpoint: Endpoint) -> None:
        if endpoint.routable:
            log.info("%s: %s takes requests", self.key, endpoint.name)
        else:
            detail = endpoint.detail(self._loop.time())
            log.warning("%s: %s is %s: %s", self.key, endpoint.name, endpoint.state(), detail)

    # --- the pool as the runtime sees it -----------------------------------------------

    def reap(self, now: float) -> None:
        """Nothing to stop: the endpoints run elsewhere."""

    async def close(self, grace_s: float) -> None:
        """Take no more work, let outstanding requests finish (bounded), stop checking."""
        self._closed = True
        if any(e.outstanding for e in self._endpoints):
            try:
                await asyncio.wait_for(self._drained.wait(), grace_s)
            except TimeoutError:
                log.warning("%s: retiring with requests still outstanding", self.key)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.future.done():
                waiter.future.set_exception(RevisionUnknown(f"{self.key} was retired"))
        await self._checks.aclose()
        await asyncio.gather(*(client.aclose() for client in self._clients.values()))

    def status(self) -> PoolStatus:
        now = self._loop.time()
        return PoolStatus(
            key=self.key,
            instances=len(self._endpoints),
            ready=sum(e.routable for e in self._endpoints),
            in_flight=sum(e.outstanding for e in self._endpoints),
            queued=len(self._waiters),
            endpoints=tuple(e.status(now) for e in self._endpoints),
        )
