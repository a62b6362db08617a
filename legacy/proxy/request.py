"""A data-plane request (its ASGI scope, or a spliced request's head) as the legacy
layer's `ProxiedRequest`, and the target the old API is asked for."""

from __future__ import annotations

from starlette.types import Scope

from gateway.http.splice import RequestHead
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


def from_head(head: RequestHead) -> ProxiedRequest:
    return ProxiedRequest(
        method=head.method,
        path=head.path,
        raw_path=head.raw_path,
        query_string=head.query_string,
        headers=head.headers,
        client=head.client,
        scheme=head.scheme,
        http_version=head.http_version,
        request_id=head.request_id,
    )


def request_target(raw_path: bytes, query_string: bytes) -> bytes:
    """The request target (origin-form) the old API gets: the path and query as sent."""
    return raw_path + b"?" + query_string if query_string else raw_path
