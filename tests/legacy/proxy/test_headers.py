"""Hop-by-hop headers stop at the proxy; X-Forwarded-* are set; Forwarded passes."""

from __future__ import annotations

from legacy.ports import ProxiedRequest
from legacy.proxy.headers import client_response_headers, upstream_request_headers


def _request(headers: list[tuple[bytes, bytes]], client: tuple[str, int] | None) -> ProxiedRequest:
    return ProxiedRequest(
        method="GET",
        path="/a",
        raw_path=b"/a",
        query_string=b"",
        headers=headers,
        client=client,
        scheme="https",
        http_version="1.1",
        request_id="r1",
    )


def test_request_hop_by_hop_go_and_forwarding_headers_come() -> None:
    headers = [
        (b"host", b"api.example.com:8080"),
        (b"connection", b"keep-alive, X-Secret , upgrade"),
        (b"x-secret", b"s"),
        (b"keep-alive", b"timeout=5"),
        (b"proxy-authorization", b"Basic x"),
        (b"proxy-connection", b"keep-alive"),
        (b"te", b"trailers"),
        (b"trailer", b"x-t"),
        (b"transfer-encoding", b"chunked"),
        (b"upgrade", b"websocket"),
        (b"content-length", b"3"),
        (b"x-forwarded-for", b"1.1.1.1"),
        (b"x-forwarded-for", b"2.2.2.2, 3.3.3.3"),
        (b"x-forwarded-proto", b"gopher"),
        (b"x-forwarded-host", b"evil"),
        (b"forwarded", b"for=1.1.1.1;proto=http"),
        (b"expect", b"100-continue"),
        (b"accept", b"*/*"),
    ]
    assert upstream_request_headers(_request(headers, ("10.1.2.3", 555)), b"old:80") == [
        (b"host", b"api.example.com:8080"),
        (b"forwarded", b"for=1.1.1.1;proto=http"),
        (b"accept", b"*/*"),
        (b"x-forwarded-for", b"1.1.1.1, 2.2.2.2, 3.3.3.3, 10.1.2.3"),
        (b"x-forwarded-proto", b"https"),
        (b"x-forwarded-host", b"api.example.com:8080"),
    ]


def test_without_a_peer_or_host_the_old_apis_host_and_only_the_proto_are_set() -> None:
    assert upstream_request_headers(_request([], None), b"old:80") == [
        (b"host", b"old:80"),
        (b"x-forwarded-proto", b"https"),
    ]


def test_response_hop_by_hop_and_date_go_and_the_request_id_is_added_once() -> None:
    upstream = [
        (b"date", b"Mon"),
        (b"connection", b"close, x-hop"),
        (b"x-hop", b"1"),
        (b"transfer-encoding", b"chunked"),
        (b"content-type", b"text/plain"),
    ]
    assert client_response_headers(upstream, "r9") == [
        (b"content-type", b"text/plain"),
        (b"x-request-id", b"r9"),
    ]
    own = [(b"x-request-id", b"theirs")]
    assert client_response_headers(own, "r9") == own
