"""An endpoint's slot lent for one HTTP request passed straight to it
(runtime_adapters/lease.py), judged as an invocation is: a refused connection is tried
on each other endpoint, and every answer and failure counts towards the endpoint's
ejection (a client that left first says nothing about it)."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from httpkit.client import ClientError, HttpClient, Origin
from runtime_adapters.base import InstanceLost, InvocationTimeout, RuntimeAdapterError
from runtime_adapters.lease import HttpLease
from runtime_adapters.url.endpoint import Endpoint

if TYPE_CHECKING:
    from runtime_adapters.url.pool import UrlPool


class UrlLease(HttpLease):
    __slots__ = ("_endpoint", "_pool", "_tried", "_verdict")

    def __init__(self, pool: UrlPool, endpoint: Endpoint) -> None:
        self._pool = pool
        self._endpoint: Endpoint | None = endpoint
        self._tried: list[Endpoint] = []
        # How the exchange failed, for the endpoint's record once the slot is given back.
        self._verdict: str | None = None
        self.timeout_s = pool.spec.timeout_s
        self.announces_request = False
        self._use(endpoint)

    def _use(self, endpoint: Endpoint) -> None:
        self._endpoint = endpoint
        upstream = self._pool.client_of(endpoint)
        self.client: HttpClient = upstream.http
        self.origin: Origin = upstream.origin

    def reroute(self, error: ClientError) -> bool:
        endpoint = self._endpoint
        if endpoint is None or error.reason != "connect_failed":
            return False
        self._endpoint = None
        self._pool.answered(endpoint, error.message)
        self._tried.append(endpoint)
        other = self._pool.pick(exclude=self._tried)
        if other is None:
            return False
        self._use(other)
        return True

    def failure(self, error: ClientError) -> RuntimeAdapterError | Awaitable[RuntimeAdapterError]:
        endpoint = self._endpoint
        key = self._pool.key
        if endpoint is None:
            return self._pool.untaken(self._tried)
        if error.timed_out:
            timeout_s = self._pool.spec.timeout_s
            self._verdict = f"no answer within {timeout_s:g}s"
            return InvocationTimeout(f"{key}: {endpoint.name} did not answer within {timeout_s:g}s")
        self._verdict = error.message
        return InstanceLost(f"{key}: {endpoint.name}: no usable answer: {error.message}")

    def release(self, answered: int | None) -> None:
        endpoint, self._endpoint = self._endpoint, None
        if endpoint is None:
            return  # given back when its connection was refused
        if answered is not None:
            self._pool.answered(endpoint, f"answered {answered}" if answered >= 500 else None)
        elif self._verdict is not None:
            self._pool.answered(endpoint, self._verdict)
        else:
            self._pool.release(endpoint)
