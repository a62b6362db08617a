"""A data-plane request (its ASGI scope) as the legacy layer's `ProxiedRequest`."""

from __future__ import annotations

from starlette.types import Scope

from legacy.ports import ProxiedRequest


def proxied_request(scope: Scope, request_id: str) -> ProxiedRequest:
    client = scope.get("client")
    return ProxiedRequest(
        method=scope["method"],
        path=scope["path"],
        raw_path=scope.get("raw_path") or scope["path"].encode("utf-8"),
        query_string=scope["query_string"],
        headers=scope["headers"],
        client=(client[0], client[1]) if client else None,
        scheme=scope["scheme"],
        http_version=scope["http_version"],
        request_id=request_id,
    )
