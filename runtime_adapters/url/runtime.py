"""UrlRuntime: the `url` runtime's face to the gateway (see base.Runtime)."""

from __future__ import annotations

from runtime_adapters.base import RevisionSpec
from runtime_adapters.pool_runtime import PoolRuntime
from runtime_adapters.url.pool import UrlPool


class UrlRuntime(PoolRuntime):
    """One pool of endpoints per revision; nothing runs here but their health checks."""

    name = "url"

    def __init__(self, *, stop_grace_s: float = 2.0) -> None:
        super().__init__(stop_grace_s=stop_grace_s)

    async def _new_pool(self, spec: RevisionSpec) -> UrlPool:
        return UrlPool(spec)
