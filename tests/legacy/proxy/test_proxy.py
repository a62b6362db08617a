"""Fronting the old API end to end: a real `gaia up` with `legacy:` before the old API
(tests/legacy/oldapi.py), each its own process."""

from __future__ import annotations

import concurrent.futures
import hashlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.integration.functions import HELLO
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function
from tests.legacy.oldapi import OldApi, pattern

MiB = 1024 * 1024


def config_with(tmp_path: Path, legacy: str) -> Path:
    """gaia.yaml with the function `hello` (GET /greet/{name}) and `legacy` as written."""
    write_function(tmp_path / "fn" / "hello", HELLO)
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  hello:
    code: ./fn/hello
    triggers:
      - http: {{path: "/greet/{{name}}", methods: [GET]}}
legacy:
{legacy}
"""
    )
    return path


def _start(gaia_factory: GaiaFactory, tmp_path: Path, legacy: str) -> Gaia:
    return gaia_factory().start("-f", str(config_with(tmp_path, legacy)))


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


class PeakRss:
    """The highest RSS of a process while the `with` block runs, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.before = _rss_kb(pid)
        self.peak = self.before
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, _rss_kb(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.before) / 1024


def test_unmatched_requests_reach_the_old_api_and_come_back_unchanged(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    gaia = _start(gaia_factory, tmp_path, f"  upstream: {old_api.url}")
    with gaia.data() as http, httpx.Client(base_url=old_api.url) as direct:
        # A function route still wins.
        assert http.get("/greet/ann").json()["message"] == "hello, ann"
        # No route at all (a 404 without legacy:) and a route without the method (a 405).
        for method, path in [("GET", "/orders"), ("POST", "/greet/ann")]:
            proxied, straight = http.request(method, path), direct.request(method, path)
            assert (proxied.status_code, proxied.content) == (
                straight.status_code,
                straight.content,
            )
            assert proxied.headers["x-old-api"] == "old"
        created = http.post("/orders", json={"sku": "a-1"})
        assert (created.status_code, created.json()) == (201, {"id": 1, "sku": "a-1"})
        assert direct.get("/orders").json() == {"orders": [{"id": 1, "sku": "a-1"}]}
        # Path, raw path, query and body arrive as sent; the answer's headers come back
        # but Date (the gateway's own) and with the request id added.
        echoed = http.post("/echo/a%2Fb/%C3%A9?x=1&x=2&y=%20", content=b"payload")
        seen = echoed.json()
        assert (seen["method"], seen["path"], seen["raw_path"]) == (
            "POST",
            "/echo/a/b/é",
            "/echo/a%2Fb/%C3%A9",
        )
        assert (seen["query"], seen["body"]) == ("x=1&x=2&y=%20", "payload")
        straight = direct.post("/echo/a%2Fb/%C3%A9?x=1&x=2&y=%20", content=b"payload")
        skip = {"date", "content-length", "x-request-id"}
        assert [h for h in echoed.headers.multi_items() if h[0] not in skip] == [
            h for h in straight.headers.multi_items() if h[0] not in skip
        ]
        assert echoed.headers["x-request-id"]
        head = http.head("/items/7")
        assert (head.status_code, head.content, head.headers["content-type"]) == (
            200,
            b"",
            "application/json",
        )
    access = [e for e in gaia.json_logs() if e.get("path") == "/orders"]
    assert access and all(e["fallback"] is True for e in access)


def test_connections_to_the_old_api_are_reused(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    gaia = _start(gaia_factory, tmp_path, f"  upstream: {old_api.url}")
    before = old_api.stats()

    def client(_: int) -> list[int]:
        with gaia.data() as http:
            return [http.get(f"/items/{n}").status_code for n in range(50)]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        statuses = [s for batch in pool.map(client, range(8)) for s in batch]
    after = old_api.stats()
    assert statuses == [200] * 400
    # /stats itself comes on one new connection each time.
    assert after["requests"] - before["requests"] == 401
    assert after["connections"] - before["connections"] <= 8 + 1


def _chunks(total: int, size: int = MiB) -> Iterator[bytes]:
    block = bytes(range(256)) * (size // 256)
    for _ in range(total // size):
        yield block


def test_large_bodies_stream_both_ways_without_being_held(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    gaia = _start(gaia_factory, tmp_path, f"  upstream: {old_api.url}")
    assert gaia.process is not None
    size = 64 * MiB
    expected = hashlib.sha256(b"".join(_chunks(size))).hexdigest()
    with gaia.data() as http:
        http.get("/items/warm-up")
        with PeakRss(gaia.process.pid) as download:
            digest, received = hashlib.sha256(), 0
            with http.stream("GET", f"/stream?size={size}") as response:
                assert response.status_code == 200
                assert "content-length" not in response.headers  # chunked all the way
                for piece in response.iter_raw():
                    digest.update(piece)
                    received += len(piece)
        assert received == size
        assert digest.hexdigest() == hashlib.sha256(_stream_body(size)).hexdigest()
        with PeakRss(gaia.process.pid) as chunked_upload:
            chunked = http.post("/upload", content=_chunks(size))
        with PeakRss(gaia.process.pid) as sized_upload:
            sized = http.post(
                "/upload", content=_chunks(size), headers={"content-length": str(size)}
            )
    assert chunked.json() == {"bytes": size, "sha256": expected, "chunked": True}
    assert sized.json() == {"bytes": size, "sha256": expected, "chunked": False}
    for peak in (download, chunked_upload, sized_upload):
        assert peak.growth_mib < 16, f"gateway RSS grew {peak.growth_mib:.1f} MiB"


def test_a_client_that_leaves_mid_answer_stops_the_old_apis_answer(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    gaia = _start(gaia_factory, tmp_path, f"  upstream: {old_api.url}")
    with socket.create_connection(("127.0.0.1", gaia.port)) as sock:
        sock.sendall(b"GET /stream?size=1000000000000 HTTP/1.1\r\nHost: t\r\n\r\n")
        received = 0
        while received < MiB:
            received += len(sock.recv(65536))
    # Without the watch the gateway would read the old API's terabyte to the end.
    wait_for(lambda: old_api.stats()["streams_cut"] == 1, timeout=10, what="the stream cut")
    assert old_api.process is not None and old_api.process.poll() is None


def _stream_body(size: int) -> bytes:
    period = pattern(251)
    return (period * (size // 251 + 1))[:size]


def test_an_old_api_down_is_a_502_and_it_recovers(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    gaia = _start(gaia_factory, tmp_path, f"  upstream: {old_api.url}")
    with gaia.data() as http:
        assert http.get("/items/1").status_code == 200  # a pooled connection now
        old_api.kill()
        for _ in range(2):
            down = http.get("/items/1")
            body = down.json()
            assert down.status_code == 502
            assert body["error"] == "upstream_unreachable"
            assert body["request_id"] == down.headers["x-request-id"]
            assert f"127.0.0.1:{old_api.port}" in body["message"]
        old_api.start()
        back = wait_for(lambda: http.get("/items/2").status_code == 200, what="recovery")
        assert back


def test_an_old_api_that_dies_mid_answer_cuts_the_clients_answer(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    gaia = _start(gaia_factory, tmp_path, f"  upstream: {old_api.url}")
    with gaia.data() as http, http.stream("GET", "/stream?size=1000000000000") as response:
        assert response.status_code == 200
        pieces = response.iter_raw()
        received = 0
        while received < MiB:
            received += len(next(pieces))
        old_api.kill()
        try:
            for _ in pieces:
                pass
        except httpx.RemoteProtocolError as exc:
            cut = str(exc)
        else:
            raise AssertionError("the answer ended as if whole")
    assert "incomplete chunked read" in cut


def test_a_slow_old_api_is_a_504(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    legacy = f"  upstream: {old_api.url}\n  read_timeout: 300ms"
    gaia = _start(gaia_factory, tmp_path, legacy)
    with gaia.data() as http:
        slow = http.get("/slow?s=2")
        assert slow.status_code == 504
        assert slow.json()["error"] == "upstream_timeout"
        assert slow.json()["request_id"] == slow.headers["x-request-id"]
        assert "the answer's head did not come within 0.3s" in slow.json()["message"]
        assert http.get("/slow?s=0.01").json() == {"slept": 0.01}


def test_several_old_apis_by_host_and_prefix(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    apis = {name: OldApi(tmp_path, name).start() for name in ("main", "billing", "shop")}
    try:
        legacy = f"""  upstream: {apis["main"].url}
  upstreams:
    - {{name: billing, url: "{apis["billing"].url}", prefix: /billing}}
    - {{name: shop, url: "{apis["shop"].url}", host: shop.example.com}}"""
        gaia = _start(gaia_factory, tmp_path, legacy)
        cases = [
            ("api.example.com", "/billing/echo", "billing"),
            ("api.example.com", "/billingx", "main"),
            ("shop.example.com", "/echo", "shop"),
            ("shop.example.com:8080", "/billing/x", "billing"),
            ("api.example.com", "/echo", "main"),
        ]
        with gaia.data() as http:
            answered = [
                http.get(path, headers={"host": host}).headers["x-old-api"]
                for host, path, _ in cases
            ]
        assert answered == [name for _, _, name in cases]
    finally:
        for api in apis.values():
            api.stop()


def test_no_old_api_for_a_request_is_a_502_naming_why(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    legacy = f"  upstreams:\n    - {{name: billing, url: '{old_api.url}', prefix: /billing}}"
    gaia = _start(gaia_factory, tmp_path, legacy)
    with gaia.data() as http:
        assert http.get("/billing/items/1").status_code == 404  # the old API's own 404
        missed = http.get("/orders")
    assert missed.status_code == 502
    assert missed.json() == {
        "error": "no_upstream",
        "message": "no old API takes host 127.0.0.1:"
        f"{gaia.port} path /orders: legacy.upstreams has billing (/billing), and"
        " legacy.upstream (for the rest) is not set",
        "request_id": missed.headers["x-request-id"],
    }
