"""The gateway's HTTP server side by side with bare uvicorn serving a Starlette app
(bench/bare_app.py), where the two should answer alike: malformed requests, a connection
over the cap, and which oversized heads are refused (uvicorn's h11 parser has a limit
on incomplete heads; its httptools parser has none)."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.harness import GaiaFactory, free_port, wait_for
from tests.integration.rawhttp import Answer, connect, exchange, get, parse, read_until_closed
from tests.integration.test_http_limits import refused, start

REPO = Path(__file__).resolve().parents[2]
HEAD_LIMIT = 4096


class Uvicorn:
    def __init__(self, *options: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                *(sys.executable, "-m", "uvicorn", "bench.bare_app:app"),
                *("--port", str(self.port), "--no-access-log", "--log-level", "error"),
                *options,
            ],
            cwd=REPO,
        )
        wait_for(self._serving, what="bare uvicorn to serve")

    def _serving(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"uvicorn exited with {self.process.returncode}")
        return httpx.get(f"http://127.0.0.1:{self.port}/hello/x", timeout=2).status_code == 200

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


@pytest.fixture
def uvicorns() -> Iterator[list[Uvicorn]]:
    started: list[Uvicorn] = []
    yield started
    for server in started:
        server.stop()


def malformed_requests() -> list[bytes]:
    """Hand-picked parser errors, then random corruptions of one valid head (never of its
    line ends, so that every request ends and gets an answer)."""
    cases = [
        b"GARBAGE\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello on plain HTTP
        b"GET /hello/x HTTP/1.1\r\nHost: a\r\nBad Header\r\nConnection: close\r\n\r\n",
        b"GET /hello/x HTTP/1.1\r\nHost: a\r\nContent-Length: ten\r\nConnection: close\r\n\r\n",
        b"GET /hello/x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"GET /hello/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n",
        b"GET /hel\x00lo/x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ]
    valid = [b"GET /hello/fuzz?q=1 HTTP/1.1", b"Host: test", b"X-Thing: value"]
    rng = random.Random(11)
    for _ in range(40):
        lines = list(valid)
        index = rng.randrange(len(lines))
        line = bytearray(lines[index])
        for _ in range(rng.randint(1, 3)):
            line[rng.randrange(len(line))] = rng.choice(b'\x00\x01\x7f\xff :/?%\t"@aZ0')
        lines[index] = bytes(line)
        cases.append(b"\r\n".join([*lines, b"Connection: close"]) + b"\r\n\r\n")
    return cases


def test_malformed_requests_get_uvicorns_own_answer(
    gaia_factory: GaiaFactory, uvicorns: list[Uvicorn]
) -> None:
    gaia = start(gaia_factory)
    uvicorns.append(bare := Uvicorn("--http", "httptools", "--no-server-header"))
    parser_errors = 0
    for request in malformed_requests():
        theirs, ours = exchange(bare.port, request), exchange(gaia.port, request)
        # Requests uvicorn's parser takes reach the two apps, which answer differently.
        assert (theirs.status == 400) == (ours.status == 400), request
        if theirs.status == 400:
            parser_errors += 1
            assert ours == theirs, request
    assert parser_errors >= 10  # the comparison covered real parser errors
    wait_for(lambda: refused(gaia, "bad_request") == parser_errors, what="the bad_request count")


def test_a_connection_over_the_cap_gets_503_and_close_as_from_limit_concurrency(
    gaia_factory: GaiaFactory, uvicorns: list[Uvicorn]
) -> None:
    # uvicorn's limit counts the connection being answered: 4 there is 3 others here.
    gaia = start(gaia_factory, "--max-connections", "3")
    uvicorns.append(
        bare := Uvicorn("--http", "httptools", "--no-server-header", "--limit-concurrency", "4")
    )
    answers: list[Answer] = []
    for port in (bare.port, gaia.port):
        held = [connect(port) for _ in range(3)]
        try:
            # The held connections are accepted before the next one is: each one's
            # first request answers.
            for sock in held:
                sock.sendall(get("/hello/held", close=False))
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")
            answers.append(exchange(port, get("/hello/over", close=False)))
        finally:
            for sock in held:
                sock.close()
    theirs, ours = answers
    assert ours.status_line == theirs.status_line == "HTTP/1.1 503 Service Unavailable"
    assert ours.headers["connection"] == theirs.headers["connection"] == "close"


def refuses_head(port: int, size: int) -> bool:
    """Send a head of `size` bytes: in 512-byte pieces and never ended when it is over
    the limit (so however TCP merges the pieces, the server holds an incomplete head of
    more than the limit), whole otherwise. True if the server refused it, False if it
    answered 200."""
    start = b"GET /hello/piecewise HTTP/1.1\r\nHost: test\r\nConnection: close\r\nX-Fill: "
    with connect(port) as sock:
        try:
            if size > HEAD_LIMIT:
                head = start + b"f" * (size - len(start))
                for at in range(0, len(head), 512):
                    sock.sendall(head[at : at + 512])
            else:
                sock.sendall(start + b"f" * (size - len(start) - 4) + b"\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # it refused and closed while the head was still coming
        try:
            answer = parse(read_until_closed(sock))
        except ConnectionResetError:
            return True
    if answer.status == 200:
        return False
    assert answer.status in (400, 431), answer
    return True


def test_heads_over_the_limit_are_refused_where_h11s_incomplete_event_limit_refuses(
    gaia_factory: GaiaFactory, uvicorns: list[Uvicorn]
) -> None:
    gaia = start(gaia_factory, "--max-header-size", str(HEAD_LIMIT))
    limit = ("--h11-max-incomplete-event-size", str(HEAD_LIMIT))
    uvicorns.append(h11 := Uvicorn("--http", "h11", "--no-server-header", *limit))
    rng = random.Random(5)
    sizes = [HEAD_LIMIT, HEAD_LIMIT + 1, *(rng.randint(100, 3 * HEAD_LIMIT) for _ in range(14))]
    verdicts = [(refuses_head(h11.port, size), refuses_head(gaia.port, size)) for size in sizes]
    assert [theirs for theirs, _ in verdicts] == [ours for _, ours in verdicts], sizes
    assert {theirs for theirs, _ in verdicts} == {True, False}  # both sides were tried
