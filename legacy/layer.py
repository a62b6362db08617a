"""The legacy layer assembled, following the applied `legacy:` at run time.

The router is made the first time a `legacy:` section is applied (at start or by a later
`gaia apply`), and then follows every ledger change. A change of the old APIs or their
timeouts builds a new proxy for the requests that come next; the one it replaces is
closed once its requests in flight are done, or after the drain timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from gateway.control import ControlPlane
from gateway.dataplane import Fallback
from gateway.invoker import Invoker
from legacy.config import LegacyConfig, UpstreamConfig
from legacy.discovery.table import DiscoveryTable
from legacy.evidence import EvidenceBook
from legacy.functions import InvokerFunctions
from legacy.handover import TrackedProxy
from legacy.ports import Proxy
from legacy.proxy import build_proxy
from legacy.router import LegacyRouter
from legacy.shadow import ShadowPool

ProxySettings = tuple[str | None, tuple[UpstreamConfig, ...], float, float]


def proxy_settings(config: LegacyConfig) -> ProxySettings:
    """What the proxy is built from: a change of any of these needs a new one."""
    return (config.upstream, config.upstreams, config.connect_timeout_s, config.read_timeout_s)


class LegacyLayer:
    def __init__(
        self,
        *,
        control: ControlPlane,
        invoker: Invoker,
        body_limit: int,
        drain_timeout_s: float,
        make_proxy: Callable[[LegacyConfig], Proxy] = build_proxy,
    ) -> None:
        self._control = control
        self._invoker = invoker
        self._body_limit = body_limit
        self._drain_timeout_s = drain_timeout_s
        self._make_proxy = make_proxy
        self._router: LegacyRouter | None = None
        self._proxy: TrackedProxy | None = None
        self._settings: ProxySettings | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._users: list[Callable[[Fallback | None], None]] = []

    async def start(self) -> None:
        """Serve the ledger as stored (`gaia migrate set` changes outlive the file's
        states), and every change to it from now on."""
        await self.follow(self._control.legacy)
        self._control.add_legacy_listener(self.follow)

    @property
    def router(self) -> LegacyRouter | None:
        return self._router

    def serve_through(self, use: Callable[[Fallback | None], None]) -> None:
        """Tell `use` the data plane's fallback now, and again when the router is made."""
        self._users.append(use)
        use(self._router)

    async def follow(self, config: LegacyConfig | None) -> None:
        """The control plane's legacy listener: the `legacy:` settings or the ledger changed."""
        if config is None:
            return  # no `legacy:` applied yet: the data plane answers 404/405 as before
        settings = proxy_settings(config)
        if self._proxy is None or settings != self._settings:
            replaced = self._proxy
            self._proxy, self._settings = TrackedProxy(self._make_proxy(config)), settings
            if self._router is not None:
                self._router.use_proxy(self._proxy)
            if replaced is not None:
                task = asyncio.create_task(replaced.retire(timeout_s=self._drain_timeout_s))
                self._retiring.add(task)
                task.add_done_callback(self._retiring.discard)
        if self._router is not None:
            self._router.update(config)
            return
        self._router = self._build(config, self._proxy)
        self._control.use_observations(self._router.observations)
        for use in self._users:
            use(self._router)

    def _build(self, config: LegacyConfig, proxy: TrackedProxy) -> LegacyRouter:
        functions = InvokerFunctions(control=self._control, invoker=self._invoker)
        return LegacyRouter(
            config=config,
            proxy=proxy,
            functions=functions,
            book=EvidenceBook(DiscoveryTable()),
            # The copies' answers are only compared: nobody waits on them.
            shadow=ShadowPool(
                settings=config.shadow,
                proxy=proxy,
                functions=InvokerFunctions(
                    control=self._control, invoker=self._invoker, urgent=False
                ),
            ),
            body_limit=self._body_limit,
        )

    async def aclose(self) -> None:
        if self._router is not None:
            await self._router.aclose()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        if self._proxy is not None:
            await self._proxy.aclose()
