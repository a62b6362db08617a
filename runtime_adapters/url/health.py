"""Active health checks: every endpoint of a revision is checked every `health.interval`
(sooner when its ejection's cool-down ends), one at a time per endpoint, each within
`health.timeout`. A check passes when GET `health.path` answers 2xx or 3xx, or, with no
path, when the port accepts a connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence

from runtime_adapters.upstream import ConnectionFailed, TimedOut, UpstreamClient, path_target
from runtime_adapters.url.endpoint import Endpoint
from runtime_adapters.url.settings import Health

log = logging.getLogger("gaia.runtime")


async def probe(endpoint: Endpoint, client: UpstreamClient, health: Health) -> str | None:
    """None when the endpoint passes, else what the check saw."""
    timeout_s = health.timeout_s
    if health.path is None:
        try:
            async with asyncio.timeout(timeout_s):
                _, writer = await asyncio.open_connection(endpoint.url.host, endpoint.url.port)
        except TimeoutError:
            return f"no connection within {timeout_s:g}s"
        except ConnectionRefusedError:
            return "connection refused"
        except OSError as exc:
            return f"no connection: {exc.strerror or exc}"
        writer.close()
        return None
    what = f"GET {health.path}"
    try:
        response = await client.request(
            "GET", path_target(health.path), [], b"", timeout_s=timeout_s
        )
    except TimedOut:
        return f"{what}: no answer within {timeout_s:g}s"
    except ConnectionFailed as exc:
        return f"{what}: {exc}"
    if 200 <= response.status < 400:
        return None
    return f"{what}: answered {response.status}"


class HealthChecks:
    """The checks of one revision's endpoints; `on_change` hears of each endpoint that
    starts or stops taking requests because of a check."""

    def __init__(
        self,
        endpoints: Sequence[Endpoint],
        clients: Mapping[Endpoint, UpstreamClient],
        health: Health,
        *,
        on_change: Callable[[Endpoint], None],
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._endpoints = tuple(endpoints)
        self._clients = clients
        self._health = health
        self._on_change = on_change
        self._wakes = {endpoint: asyncio.Event() for endpoint in endpoints}
        self._checked: set[Endpoint] = set()
        self._settled = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        if not self._tasks:
            self._tasks = [self._loop.create_task(self._watch(e)) for e in self._endpoints]

    async def settled(self) -> None:
        """Return once an endpoint takes requests, or each has been checked once."""
        await self._settled.wait()

    def reschedule(self, endpoint: Endpoint) -> None:
        """The endpoint was ejected: its next check may be due sooner."""
        self._wakes[endpoint].set()

    async def _watch(self, endpoint: Endpoint) -> None:
        client, wake = self._clients[endpoint], self._wakes[endpoint]
        while True:
            try:
                failure = await probe(endpoint, client, self._health)
            except Exception as exc:
                # Checks that stopped would leave an ejected endpoint out for good.
                log.exception("%s: its health check failed unexpectedly", endpoint.name)
                failure = f"the check failed: {exc!r}"
            was = endpoint.routable
            endpoint.checked(failure, self._loop.time())
            self._checked.add(endpoint)
            if endpoint.routable or len(self._checked) == len(self._endpoints):
                self._settled.set()
            if endpoint.routable != was:
                self._on_change(endpoint)
            checked_at = self._loop.time()
            # Woken early when the endpoint is ejected: its cool-down may end sooner.
            interval_s = self._health.interval_s
            while (left := endpoint.next_check_at(checked_at, interval_s) - self._loop.time()) > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), left)
                wake.clear()

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
