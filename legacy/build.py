"""The legacy layer assembled: the one place the gateway makes the router."""

from __future__ import annotations

from gateway.control import ControlPlane
from gateway.invoker import Invoker
from legacy.config import LegacyConfig
from legacy.discovery.table import DiscoveryTable
from legacy.evidence import EvidenceBook
from legacy.functions import InvokerFunctions
from legacy.ports import Proxy
from legacy.router import LegacyRouter
from legacy.shadow import ShadowPool


def build_router(
    config: LegacyConfig,
    *,
    control: ControlPlane,
    invoker: Invoker,
    proxy: Proxy,
    body_limit: int,
) -> LegacyRouter:
    """The data plane's fallback for `config`. It follows the ledger's changes, and the
    gates, `gaia migrate status` and `discover` read its observations."""
    functions = InvokerFunctions(control=control, invoker=invoker)
    shadow = ShadowPool(settings=config.shadow, proxy=proxy, functions=functions)
    router = LegacyRouter(
        config=config,
        proxy=proxy,
        functions=functions,
        book=EvidenceBook(DiscoveryTable()),
        shadow=shadow,
        body_limit=body_limit,
    )
    control.use_observations(router.observations)
    control.add_legacy_listener(router.follow)
    return router
