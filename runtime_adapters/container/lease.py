"""A container instance's slot lent for one HTTP request passed straight to it
(runtime_adapters/lease.py): the same instance, timeout and failures as an invocation."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from httpkit.client import ClientError, HttpClient, Origin
from runtime_adapters.base import RuntimeAdapterError
from runtime_adapters.container.instance import ContainerInstance
from runtime_adapters.lease import HttpLease

if TYPE_CHECKING:
    from runtime_adapters.container.pool import ContainerPool


class ContainerLease(HttpLease):
    __slots__ = ("_instance", "_pool", "_sent_at")

    def __init__(self, pool: ContainerPool, instance: ContainerInstance, sent_at: float) -> None:
        self._pool = pool
        self._instance = instance
        self._sent_at = sent_at
        upstream = instance.upstream
        self.client: HttpClient = upstream.http
        self.origin: Origin = upstream.origin
        self.timeout_s = pool.spec.timeout_s
        self.announces_request = False

    def reroute(self, error: ClientError) -> bool:
        return False  # the slot was this instance's: as an invocation, it fails

    def failure(self, error: ClientError) -> RuntimeAdapterError | Awaitable[RuntimeAdapterError]:
        if error.timed_out:
            return self._instance.timed_out()
        return self._instance.lost(error.message)

    def release(self, answered: int | None) -> None:
        self._pool.lent_back(self._instance, self._sent_at, answered=answered is not None)
