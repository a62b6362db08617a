"""Slow and greedy clients against the real gateway: head timeout, head size, connection cap."""

from __future__ import annotations

import json
import select
import time

import httpx
import pytest

from tests.integration.harness import Gaia, GaiaFactory, wait_for
from tests.integration.rawhttp import connect, exchange, get, parse, read_until_closed

HEAD_TIMEOUT_S = 1.0
HEAD_LIMIT = 4096


def start(gaia_factory: GaiaFactory, *flags: str) -> Gaia:
    """The examples (hello) on a gateway with the given flags, once the data plane answers."""
    gaia = gaia_factory().start(*flags)
    wait_for(
        lambda: httpx.get(f"{gaia.url}/hello/x", timeout=2).status_code == 200,
        what="the data plane",
    )
    return gaia


@pytest.fixture
def gaia(gaia_factory: GaiaFactory) -> Gaia:
    return start(
        gaia_factory,
        *("--header-timeout", f"{HEAD_TIMEOUT_S:g}s", "--max-header-size", str(HEAD_LIMIT)),
    )


def refused(gaia: Gaia, reason: str) -> float:
    """gateway_http_refused_total{reason=...} on the admin /metrics."""
    with gaia.admin() as admin:
        text = admin.get("/metrics").text
    prefix = f'gateway_http_refused_total{{reason="{reason}"}} '
    (line,) = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(line.removeprefix(prefix))


def test_a_half_sent_head_is_answered_408_and_closed_after_the_timeout(gaia: Gaia) -> None:
    with connect(gaia.port) as sock:
        sock.sendall(b"GET /hello/slow HTTP/1.1\r\nHost: test\r\nX-Half: ")
        started = time.monotonic()
        answer = parse(read_until_closed(sock))
        elapsed = time.monotonic() - started
    assert HEAD_TIMEOUT_S - 0.05 <= elapsed < HEAD_TIMEOUT_S + 1.0, elapsed
    assert answer.status_line == "HTTP/1.1 408 Request Timeout"
    assert answer.headers["connection"] == "close"
    assert json.loads(answer.body)["error"] == "header_timeout"
    wait_for(lambda: refused(gaia, "header_timeout") == 1, what="the header_timeout count")


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(gaia: Gaia) -> None:
    with connect(gaia.port) as sock:
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        assert time.monotonic() - started >= HEAD_TIMEOUT_S - 0.05


def test_a_byte_every_100ms_does_not_keep_a_connection_past_the_head_timeout(
    gaia: Gaia,
) -> None:
    head = b"GET /hello/trickle HTTP/1.1\r\nHost: test\r\nX-Slow: " + b"a" * 1000
    with connect(gaia.port) as sock:
        started = time.monotonic()
        sent = 0
        # Send until the server answers (the socket turns readable) or a deadline.
        while not select.select([sock], [], [], 0.1)[0]:
            assert time.monotonic() - started < HEAD_TIMEOUT_S + 2.0, "still open"
            sock.sendall(head[sent : sent + 1])
            sent += 1
        answer = parse(read_until_closed(sock))
        elapsed = time.monotonic() - started
    assert answer.status == 408
    assert elapsed < HEAD_TIMEOUT_S + 1.0
    assert sent < 30


def test_the_head_timeout_starts_again_for_each_request_on_a_kept_alive_connection(
    gaia: Gaia,
) -> None:
    with connect(gaia.port) as sock:
        for _ in range(3):  # three requests, in all longer than one head timeout
            sock.sendall(get("/hello/kept", close=False))
            reply = b""
            while b'"hello, kept"' not in reply:
                chunk = sock.recv(4096)
                assert chunk, "the server closed a kept-alive connection"
                reply += chunk
            assert reply.startswith(b"HTTP/1.1 200 OK")
            time.sleep(HEAD_TIMEOUT_S / 2)  # the client thinks between requests


def idle_until_closed(gaia: Gaia) -> float:
    """Seconds a kept-alive connection stays open, idle, after its answer."""
    with connect(gaia.port) as sock:
        sock.sendall(get("/hello/idle", close=False))
        reply = b""
        while b'"hello, idle"' not in reply:
            reply += sock.recv(4096)
        started = time.monotonic()
        assert read_until_closed(sock) == b""
        return time.monotonic() - started


def test_an_idle_kept_alive_connection_is_closed_after_uvicorns_5s(gaia: Gaia) -> None:
    assert 4.9 <= idle_until_closed(gaia) < 7.0


def test_the_keep_alive_timeout_is_a_flag(gaia_factory: GaiaFactory) -> None:
    # Raised above a load balancer's idle timeout (60 s on an ALB) it would be the
    # proxy that closes first; lowered here so that the test does not wait.
    gaia = start(gaia_factory, "--keep-alive-timeout", "1500ms")
    assert 1.45 <= idle_until_closed(gaia) < 3.0


@pytest.mark.parametrize("pieces", [1, 8], ids=["in one send", "in pieces"])
def test_a_head_over_the_limit_is_431(gaia: Gaia, pieces: int) -> None:
    request = get("/hello/big", b"X-Big: " + b"b" * HEAD_LIMIT)
    with connect(gaia.port) as sock:
        step = -(-len(request) // pieces)
        for start_at in range(0, len(request), step):
            sock.sendall(request[start_at : start_at + step])
        answer = parse(read_until_closed(sock))
    assert answer.status_line == "HTTP/1.1 431 Request Header Fields Too Large"
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["connection"] == "close"
    body = json.loads(answer.body)
    assert body["error"] == "header_too_large"
    assert str(HEAD_LIMIT) in body["message"]
    assert body["request_id"] is None
    wait_for(lambda: refused(gaia, "header_too_large") == 1, what="the header_too_large count")


def test_a_head_just_under_the_limit_is_served(gaia: Gaia) -> None:
    base = get("/hello/fits", b"X-Fill: ")
    request = get("/hello/fits", b"X-Fill: " + b"f" * (HEAD_LIMIT - len(base)))
    assert len(request) == HEAD_LIMIT
    answer = exchange(gaia.port, request)
    assert answer.status == 200
    assert json.loads(answer.body) == {"message": "hello, fits"}


def test_connections_over_the_cap_get_503_and_the_cap_frees_up(
    gaia_factory: GaiaFactory,
) -> None:
    gaia = start(gaia_factory, "--max-connections", "3")
    held = [connect(gaia.port) for _ in range(3)]
    try:
        wait_for(lambda: _open_connections(gaia) == 3, what="three open connections")
        over = exchange(gaia.port, get("/hello/over", close=False))
        assert over.status_line == "HTTP/1.1 503 Service Unavailable"
        assert over.headers["connection"] == "close"
        assert over.headers["retry-after"] == "1"
        assert json.loads(over.body)["error"] == "too_many_connections"
        # The held connections themselves are served.
        held[0].sendall(get("/hello/held"))
        assert parse(read_until_closed(held[0])).status == 200
        wait_for(lambda: _open_connections(gaia) == 2, what="a connection to close")
        assert exchange(gaia.port, get("/hello/again")).status == 200
    finally:
        for sock in held:
            sock.close()
    assert refused(gaia, "too_many_connections") == 1


def _open_connections(gaia: Gaia) -> float:
    with gaia.admin() as admin:
        text = admin.get("/metrics").text
    (line,) = [line for line in text.splitlines() if line.startswith("gateway_http_connections ")]
    return float(line.split()[1])


def test_bad_limits_stop_the_gateway_with_a_message(gaia_factory: GaiaFactory) -> None:
    gaia = gaia_factory()
    for flags, message in (
        (("--header-timeout", "soon"), "expected a duration like 500ms"),
        (("--max-header-size", "100"), "max header size: expected at least 1Ki (1024), got 100"),
        (("--max-connections", "0"), "0 is not in the range x>=1"),
        (("--keep-alive-timeout", "0s"), "keep-alive timeout: expected more than 0s, got 0"),
    ):
        done = gaia.cli("up", "--port", "0", *flags)
        assert done.returncode != 0
        assert message in done.stderr, done.stderr
