"""A container instance's slot lent for one HTTP request passed straight to it
(runtime_adapters/lease.py): the same instance, timeout and failures as an invocation.

`ContainerLessor.lease` is the pool's `lease`: compiled (lease.pxd), a request's slot is
taken (runtime_adapters/slots.py), lent and given back without a Python-level call
between them, and each instance's connections are looked up once, not per request.
"""

from __future__ import annotations

from collections.abc import Awaitable

from httpkit.client import ClientError, HttpClient, Origin
from runtime_adapters.base import RuntimeAdapterError
from runtime_adapters.container.instance import ContainerInstance
from runtime_adapters.lease import HttpLease
from runtime_adapters.slots import Slots


class ContainerLease(HttpLease):
    """Made by `ContainerLessor.lease` only."""

    __slots__ = ("_instance", "_sent_at", "_slots")

    _instance: ContainerInstance
    _sent_at: float
    _slots: Slots

    def reroute(self, error: ClientError) -> bool:
        return False  # the slot was this instance's: as an invocation, it fails

    def failure(self, error: ClientError) -> RuntimeAdapterError | Awaitable[RuntimeAdapterError]:
        if error.timed_out:
            return self._instance.timed_out()
        return self._instance.lost(error.message)

    def release(self, answered: int | None) -> None:
        self._slots.lent_back(self._instance, self._sent_at, answered is not None)


class ContainerLessor:
    """Lends a container pool's free slots (`lease`), while its instances live."""

    __slots__ = ("_connections", "_slots", "_timeout_s")

    def __init__(self, slots: Slots, *, timeout_s: float) -> None:
        self._slots = slots
        self._timeout_s = timeout_s  # the revision's
        # Each instance's client and origin, from its first lease until `forget`.
        self._connections: dict[ContainerInstance, tuple[HttpClient, Origin]] = {}

    def lease(self) -> ContainerLease | None:
        """A free slot lent, or None: invocations are queued (they go first), the pool
        is retiring, or no slot is free."""
        slots = self._slots
        instance: ContainerInstance | None = slots.take()
        if instance is None:
            return None
        connections = self._connections.get(instance)
        if connections is None:
            upstream = instance.upstream
            connections = self._connections[instance] = (upstream.http, upstream.origin)
        # Made without __init__: its fields set here at C level compiled, where a
        # constructor call would parse its arguments from Python objects.
        lease = ContainerLease.__new__(ContainerLease)
        lease._slots = slots
        lease._instance = instance
        lease._sent_at = slots.estimate.now()
        lease.client, lease.origin = connections
        lease.timeout_s = self._timeout_s
        lease.announces_request = False
        return lease

    def forget(self, instance: ContainerInstance) -> None:
        """The instance is out of the pool (lent no more)."""
        self._connections.pop(instance, None)
