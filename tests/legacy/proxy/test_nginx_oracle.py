"""Header handling against nginx as the oracle: the same generated requests through nginx
(a standard reverse-proxy block, tests/legacy/proxy/nginx.py) and through gaia to the
old API's /echo; what the old API sees and what the client gets must agree, but for the
differences listed in DIFFERENCES, each with its reason (README "Fronting the old API")."""

from __future__ import annotations

import http.client
import json
import random
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import GaiaFactory
from tests.legacy.oldapi import OldApi
from tests.legacy.proxy.nginx import Nginx

# Request headers nginx passes on and gaia drops, as RFC 9110 7.6.1 asks of a proxy:
# those the Connection header names, and the Proxy-* and Trailer hop-by-hop headers.
# nginx drops only Connection, Keep-Alive, TE, Upgrade and Expect by default.
GAIA_ALSO_DROPS = ("connection-named", "proxy-authorization", "proxy-connection", "trailer")
DIFFERENCES = {
    "request headers gaia drops and nginx passes": GAIA_ALSO_DROPS,
    # nginx writes its proxy_set_header lines first, gaia after the client's headers;
    # the order of different header names carries no meaning (RFC 9110 5.3).
    "order of the headers the old API sees": "compared as sorted lists",
    # nginx sends a chunked body that arrived whole with the head by its length instead;
    # both frame the same bytes, and the bodies are compared.
    "content-length / transfer-encoding the old API sees": "not compared",
    # Every data-plane answer carries the request id that its access-log line has.
    "x-request-id on the client's answer": "gaia adds it when the old API sets none",
    # Both write their own Date and their own framing for the client's connection.
    "date, connection, keep-alive, transfer-encoding, content-length": "not compared",
}

HOP_NAMED = ("x-hop-one", "x-hop-two")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Generated:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes | None
    chunked: bool

    def raw(self, host: str) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        body = b""
        if self.body is not None and self.chunked:
            lines.append("Transfer-Encoding: chunked")
            half = len(self.body) // 2
            for part in (self.body[:half], self.body[half:]):
                if part:
                    body += b"%x\r\n%b\r\n" % (len(part), part)
            body += b"0\r\n\r\n"
        elif self.body is not None:
            lines.append(f"Content-Length: {len(self.body)}")
            body = self.body
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _generate(rng: random.Random) -> Generated:
    method = rng.choice(METHODS)
    segment = rng.choice(["a", "b%20c", "%C3%A9", "x;y", "1234"])
    query = rng.choice(["", "?q=1", "?a=1&a=2", "?s=%2F%20"])
    pool: list[tuple[str, str]] = [
        (
            "Connection",
            rng.choice(["keep-alive", f"keep-alive, {HOP_NAMED[0]}", ", ".join(HOP_NAMED)]),
        ),
        (HOP_NAMED[0], "one"),
        (HOP_NAMED[1], "two"),
        ("Keep-Alive", "timeout=5"),
        ("TE", "trailers"),
        ("Upgrade", "foo/1"),
        ("Proxy-Authorization", "Basic eDp5"),
        ("Proxy-Connection", "keep-alive"),
        ("Trailer", "X-Checksum"),
        ("X-Forwarded-For", rng.choice(["192.0.2.1", "192.0.2.1, 198.51.100.2"])),
        ("X-Forwarded-For", "203.0.113.9"),
        ("X-Forwarded-Proto", "https"),
        ("X-Forwarded-Host", "evil.example"),
        ("Forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"),
        ("Accept", "text/plain"),
        ("Accept", "application/json"),
        ("Cookie", "a=1; b=2"),
        ("User-Agent", "oracle/1"),
        ("X-Custom", "".join(rng.choices("abc ;,=xyz", k=rng.randint(1, 30))).strip() or "v"),
    ]
    headers = rng.sample(pool, rng.randint(0, len(pool)))
    body = None
    if method in ("POST", "PUT", "PATCH") or rng.random() < 0.1:
        body = bytes(rng.choices(range(32, 127), k=rng.randint(0, 5000)))
    return Generated(method, f"/echo/{segment}{query}", headers, body, rng.random() < 0.5)


def _send(port: int, request: Generated) -> tuple[int, list[tuple[str, str]], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.raw("api.example.com:8443"))
        response = http.client.HTTPResponse(sock, method=request.method)
        response.begin()
        body = response.read()
        headers = [(name.lower(), value) for name, value in response.getheaders()]
        return response.status, headers, body


def _seen(body: bytes) -> dict[str, Any]:
    seen: dict[str, Any] = json.loads(body)
    seen.pop("client")  # each proxy's own port
    framing = ("content-length", "transfer-encoding")
    seen["headers"] = sorted(tuple(h) for h in seen["headers"] if h[0] not in framing)
    return seen


def _drop_what_nginx_passes_and_gaia_drops(
    seen: dict[str, Any], request: Generated
) -> dict[str, Any]:
    named = set()
    for name, value in request.headers:
        if name == "Connection":
            named |= {token.strip().lower() for token in value.split(",")}
    dropped = named | set(GAIA_ALSO_DROPS)
    kept = [h for h in seen["headers"] if h[0] not in dropped]
    return {**seen, "headers": kept}


SKIPPED_ANSWER_HEADERS = {"date", "connection", "keep-alive", "transfer-encoding", "content-length"}


def _answer_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(h for h in headers if h[0] not in SKIPPED_ANSWER_HEADERS)


@pytest.fixture
def proxies(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> Iterator[tuple[int, int]]:
    nginx = Nginx(tmp_path, old_api.port).start()
    config = tmp_path / "gaia.yaml"
    config.write_text(f"functions: {{}}\nlegacy:\n  upstream: {old_api.url}\n")
    gaia = gaia_factory().start("-f", str(config))
    yield nginx.port, gaia.port
    nginx.stop()


def test_generated_requests_agree_with_nginx(proxies: tuple[int, int]) -> None:
    nginx_port, gaia_port = proxies
    rng = random.Random(1313)
    for number in range(120):
        request = _generate(rng)
        n_status, n_headers, n_body = _send(nginx_port, request)
        g_status, g_headers, g_body = _send(gaia_port, request)
        case = f"case {number}: {request.raw('h')[:600]!r}"
        assert g_status == n_status == 200, case
        by_nginx, by_gaia = _seen(n_body), _seen(g_body)
        assert by_gaia == _drop_what_nginx_passes_and_gaia_drops(by_nginx, request), case
        gaia_headers = _answer_headers(g_headers)
        request_ids = [v for n, v in gaia_headers if n == "x-request-id"]
        assert len(request_ids) == 1, case
        assert [h for h in gaia_headers if h[0] != "x-request-id"] == _answer_headers(n_headers), (
            case
        )
        assert ("content-length" in dict(g_headers)) == ("content-length" in dict(n_headers)), case
