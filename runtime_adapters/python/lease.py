"""An ASGI worker's slot lent for one HTTP request passed straight to the app's own
server in the worker (http_serve.py, runtime_adapters/lease.py): the same slot, timeout
and failures as an invocation of it, without the gateway's ASGI cycle or a frame.

Workers listen on unix sockets in the runtime's slots dir, so the pool's client
(`WorkerHttp`) connects by path; an `Origin` only names a worker (its Host header, when
the client sent none, is `localhost:<worker number>`).

`WorkerLessor.lease` is the pool's `lease`: compiled (lease.pxd), a request's slot is
taken (runtime_adapters/slots.py), lent and given back without a Python-level call
between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING

from httpkit.client import ClientError, Connection, HttpClient, Origin
from runtime_adapters.base import InstanceLost, InvocationTimeout, RuntimeAdapterError
from runtime_adapters.lease import HttpLease
from runtime_adapters.python.instance import Instance
from runtime_adapters.slots import Slots

if TYPE_CHECKING:
    from runtime_adapters.python.pool import RevisionPool

# How long a failed request waits to learn that its worker is exiting (to say why).
EXIT_WAIT_S = 0.5


class WorkerHttp(HttpClient):
    """Pooled keep-alive connections to workers' HTTP servers, by socket path."""

    def __init__(self, *, timeout_s: float) -> None:
        super().__init__(connect_timeout_s=timeout_s, read_timeout_s=timeout_s)
        self._paths: dict[Origin, str] = {}

    def origin_of(self, instance: Instance) -> Origin:
        assert instance.http_path is not None
        origin = Origin(host="localhost", port=int(instance.ident), tls=False)
        self._paths[origin] = instance.http_path
        return origin

    def forget(self, origin: Origin) -> None:
        self._paths.pop(origin, None)

    async def connect(self, origin: Origin) -> Connection:
        path = self._paths.get(origin)
        if path is None:
            raise ClientError(f"worker {origin.port} is gone", reason="connect_failed")
        # A unix socket's connect succeeds or fails at once (a full backlog is EAGAIN):
        # no timeout to keep, unlike a TCP connect's.
        try:
            _, connection = await asyncio.get_running_loop().create_unix_connection(
                lambda: Connection(self, origin), path
            )
        except OSError as exc:
            raise ClientError(
                f"cannot connect to worker {origin.port}: {exc.strerror or exc}",
                reason="connect_failed",
            ) from None
        self.connections_opened += 1
        return connection


class WorkerLease(HttpLease):
    """Made by `WorkerLessor.lease` only."""

    __slots__ = ("_expired", "_instance", "_pool", "_sent_at", "_slots")

    _expired: bool
    _instance: Instance
    _pool: RevisionPool
    _sent_at: float
    _slots: Slots

    def reroute(self, error: ClientError) -> bool:
        return False  # the slot was this worker's: as an invocation, it fails

    def failure(self, error: ClientError) -> RuntimeAdapterError | Awaitable[RuntimeAdapterError]:
        instance = self._instance
        if error.timed_out:
            # As an invocation past its timeout: the app may still be running, so the
            # worker takes no more work and is replaced once its others are done.
            self._expired = True
            return InvocationTimeout(instance.conn.timeout_message)
        return _lost(instance, error.message)

    def release(self, answered: int | None) -> None:
        if self._expired:
            self._pool.instance_expired(self._instance)
        else:
            self._slots.lent_back(self._instance, self._sent_at, answered is not None)


class WorkerLessor:
    """Lends a Python pool's free slots on workers that serve HTTP (`lease`)."""

    __slots__ = ("_client", "_origins", "_pool", "_slots", "_timeout_s")

    def __init__(
        self,
        pool: RevisionPool,
        slots: Slots,
        origins: dict[Instance, Origin],
        *,
        client: HttpClient,
    ) -> None:
        self._pool = pool
        self._slots = slots
        # The workers whose app serves HTTP, each named by an origin (WorkerHttp.origin_of):
        # the pool's own dict, kept by the pool.
        self._origins = origins
        self._client = client
        self._timeout_s = pool.spec.timeout_s

    def lease(self) -> WorkerLease | None:
        """A free slot on a worker that serves HTTP, or None: no worker does, invocations
        are queued (they go first), the pool is retiring, or no slot is free."""
        origins = self._origins
        if not origins:
            return None
        slots = self._slots
        instance: Instance | None = slots.take()
        if instance is None:
            return None
        origin = origins.get(instance)
        if origin is None:
            slots.release(instance)
            return None
        # Made without __init__: its fields set here at C level compiled, where a
        # constructor call would parse its arguments from Python objects.
        lease = WorkerLease.__new__(WorkerLease)
        lease._pool = self._pool
        lease._slots = slots
        lease._instance = instance
        lease._sent_at = slots.estimate.now()
        lease._expired = False
        lease.client = self._client
        lease.origin = origin
        lease.timeout_s = self._timeout_s
        lease.announces_request = True  # the app's scope["gaia.context"] (http_serve.py)
        return lease


async def _lost(instance: Instance, detail: str) -> RuntimeAdapterError:
    """The worker's exit, as an invocation's failure names it, if it is exiting."""
    try:
        return await asyncio.wait_for(instance.lost_reason(), EXIT_WAIT_S)
    except TimeoutError:
        return InstanceLost(f"{instance.name}: no usable answer: {detail}")
