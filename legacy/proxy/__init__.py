"""Fronting the old API: requests no function route takes are proxied to it.

`build_proxy(config)` is the one place the gateway makes the proxy (`LegacyProxy`, the
`legacy.ports.Proxy` the router uses), over `httpkit`'s pooled HTTP/1.1 client. The
parts: `upstreams` (which old API takes a request), `headers` (X-Forwarded-* on top of
httpkit's hop-by-hop rules), `request` (an ASGI scope as a `ProxiedRequest`), `proxy`
(forward and fetch).
"""

from __future__ import annotations

from httpkit.client import HttpClient
from legacy.config import LegacyConfig
from legacy.proxy.proxy import LegacyProxy

__all__ = ["LegacyProxy", "build_proxy"]


def build_proxy(config: LegacyConfig) -> LegacyProxy:
    """The proxy to `config`'s old APIs; call it inside the running event loop."""
    client = HttpClient(
        connect_timeout_s=config.connect_timeout_s, read_timeout_s=config.read_timeout_s
    )
    return LegacyProxy(config, client)
