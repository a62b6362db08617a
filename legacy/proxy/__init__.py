"""Fronting the old API: requests no function route takes are proxied to it.

`build_proxy(config)` is the one place the gateway makes the proxy (`LegacyProxy`, the
`legacy.ports.Proxy` the router uses); `unrouted(proxy)` is the data plane's fallback
that sends every unmatched request through it, until the router wraps the proxy
instead. The parts: `client` (the pooled HTTP/1.1 client), `upstreams` (which old API
takes a request), `headers` (hop-by-hop and X-Forwarded-*), `request` (an ASGI scope as
a `ProxiedRequest`), `proxy` (forward and fetch).
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from gateway.dataplane import Fallback
from httpkit.client import HttpClient
from legacy.config import LegacyConfig
from legacy.ports import Proxy
from legacy.proxy.proxy import LegacyProxy
from legacy.proxy.request import proxied_request

__all__ = ["LegacyProxy", "build_proxy", "unrouted"]


def build_proxy(config: LegacyConfig) -> LegacyProxy:
    """The proxy to `config`'s old APIs; call it inside the running event loop."""
    client = HttpClient(
        connect_timeout_s=config.connect_timeout_s, read_timeout_s=config.read_timeout_s
    )
    return LegacyProxy(config, client)


def unrouted(proxy: Proxy) -> Fallback:
    """The data plane's fallback: every request no function route takes, to the old API."""

    async def fallback(scope: Scope, receive: Receive, send: Send, request_id: str) -> int:
        outcome = await proxy.forward(proxied_request(scope, request_id), receive, send)
        return outcome.status

    return fallback
