"""The data plane's protocol writes a response's head with its first body chunk: against a
real uvicorn server on uvloop, answers of every shape read back by h11 (an independent
parser) as uvicorn's own protocol gives them, a short answer in one write, and a head
whose body is slow to come still sent at once."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import h11
import pytest
import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from gateway.http.limits import HttpCounters, HttpLimits
from gateway.http.protocol import GuardedHttpTools

App = Callable[..., Any]
BIG = 1024 * 1024 + 7


# What `/later` waits for before its body: set by the test once it has read the head.
RELEASE: list[asyncio.Event] = []


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers by path: each a shape the head-with-body write must keep intact."""
    if scope["type"] == "websocket":  # declined: uvicorn answers the handshake 403
        await receive()
        await send({"type": "websocket.close"})
        return
    if scope["type"] != "http":
        return
    path = scope["path"]
    while (await receive()).get("more_body"):
        pass
    length = [(b"content-length", b"5")]
    if path == "/short":
        await send({"type": "http.response.start", "status": 200, "headers": length})
        await send({"type": "http.response.body", "body": b"hello"})
    elif path == "/chunked":
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for i in range(5):
            await send({"type": "http.response.body", "body": b"c%d," % i, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/big":
        headers = [(b"content-length", str(BIG).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"x" * BIG})
    elif path == "/empty":
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/close":
        headers = [*length, (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"bye!!"})
    elif path == "/later":
        await send({"type": "http.response.start", "status": 200, "headers": length})
        await RELEASE[-1].wait()
        await send({"type": "http.response.body", "body": b"later"})


@asynccontextmanager
async def serving(http: type[HttpToolsProtocol]) -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app,
        http=http,
        lifespan="off",
        log_level="error",
        access_log=False,
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    # Listening already: a client's connection waits in the backlog until the server runs.
    sock.listen()
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        await task


def guarded() -> type[GuardedHttpTools]:
    return GuardedHttpTools.configured(HttpLimits(), HttpCounters())


async def exchange(port: int, method: str, path: str) -> tuple[h11.Response, bytes, bool]:
    """One request on a fresh connection: the answer, its body, and whether the server
    closed the connection after it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = h11.Connection(h11.CLIENT)
    writer.write(client.send(h11.Request(method=method, target=path, headers=[("Host", "t")])))
    writer.write(client.send(h11.EndOfMessage()))
    body = b""
    response: h11.Response | None = None
    async with asyncio.timeout(10):
        while True:
            event = client.next_event()
            if event is h11.NEED_DATA:
                client.receive_data(await reader.read(65536))
            elif isinstance(event, h11.Response):
                response = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                break
        # A kept-alive connection stays open: the read times out rather than ending.
        try:
            async with asyncio.timeout(0.2):
                closed = await reader.read(1) == b""
        except TimeoutError:
            closed = False
    writer.close()
    assert response is not None
    return response, body, closed


def run(coro: Any) -> Any:
    return uvloop.run(coro)


SHAPES = [
    ("GET", "/short"),
    ("GET", "/chunked"),
    ("GET", "/big"),
    ("GET", "/empty"),
    ("GET", "/close"),
    ("HEAD", "/short"),
    ("HEAD", "/chunked"),
]


@pytest.mark.parametrize(("method", "path"), SHAPES)
def test_answers_read_as_uvicorn_writes_them(method: str, path: str) -> None:
    async def both() -> list[tuple[int, list[tuple[bytes, bytes]], bytes, bool]]:
        seen = []
        for http in (guarded(), HttpToolsProtocol):
            async with serving(http) as port:
                response, body, closed = await exchange(port, method, path)
            # Date may tick between the two servers.
            headers = [(n, v) for n, v in response.headers if n != b"date"]
            seen.append((response.status_code, headers, body, closed))
        return seen

    ours, uvicorns = run(both())
    assert ours == uvicorns
    if method == "GET" and path == "/big":
        assert len(ours[2]) == BIG


class _Counting:
    """The real transport, its writes counted (uvicorn's own writes one per message)."""

    writes: list[int]

    def __init__(self, transport: asyncio.Transport, writes: list[int]) -> None:
        self._transport = transport
        self.writes = writes

    def write(self, data: bytes) -> None:
        self.writes.append(len(data))
        self._transport.write(data)

    def writelines(self, parts: list[bytes]) -> None:
        self.writes.append(sum(map(len, parts)))
        self._transport.writelines(parts)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


def counted(base: type[HttpToolsProtocol], writes: list[int]) -> type[HttpToolsProtocol]:
    class Counted(base):  # type: ignore[valid-type, misc]
        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(_Counting(transport, writes))

    return Counted


@pytest.mark.parametrize(
    ("base", "expected"), [(guarded(), 1), (HttpToolsProtocol, 2)], ids=["gaia", "uvicorn"]
)
def test_a_short_answer_leaves_in_one_write(base: type[HttpToolsProtocol], expected: int) -> None:
    writes: list[int] = []

    async def go() -> tuple[h11.Response, bytes, bool]:
        async with serving(counted(base, writes)) as port:
            return await exchange(port, "GET", "/short")

    response, body, _ = run(go())
    assert (response.status_code, body) == (200, b"hello")
    assert len(writes) == expected


def test_a_head_whose_body_is_slow_goes_out_at_once() -> None:
    async def go() -> tuple[int, bytes]:
        RELEASE.append(asyncio.Event())
        async with serving(guarded()) as port:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /later HTTP/1.1\r\nHost: t\r\n\r\n")
            client = h11.Connection(h11.CLIENT)
            client.send(h11.Request(method="GET", target="/later", headers=[("Host", "t")]))
            # The body waits for the head to be read: a held head would never come.
            async with asyncio.timeout(5):
                while not isinstance(event := client.next_event(), h11.Response):
                    client.receive_data(await reader.read(65536))
            RELEASE[-1].set()
            body = b""
            async with asyncio.timeout(5):
                while not isinstance(data := client.next_event(), h11.EndOfMessage):
                    if data is h11.NEED_DATA:
                        client.receive_data(await reader.read(65536))
                    elif isinstance(data, h11.Data):
                        body += data.data
            writer.close()
            return event.status_code, body

    assert run(go()) == (200, b"later")


def test_an_idle_connection_closes_after_the_keep_alive_timeout_and_a_busy_one_stays() -> None:
    """The keep-alive timer is re-armed lazily rather than made per request: an idle
    connection still closes on time, and one in use is never closed under its client."""

    async def go() -> tuple[float, int]:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        # uvicorn types the timeout as whole seconds; a fraction works and keeps this short.
        config = uvicorn.Config(
            app,
            http=guarded(),
            lifespan="off",
            log_level="error",
            timeout_keep_alive=0.3,  # type: ignore[arg-type]
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        port = sock.getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            # Busy for three keep-alive timeouts: a request every 0.1 s.
            answered = 0
            idle_from = 0.0
            loop = asyncio.get_running_loop()
            until = loop.time() + 0.9
            while loop.time() < until:
                writer.write(b"GET /short HTTP/1.1\r\nHost: t\r\n\r\n")
                async with asyncio.timeout(5):
                    await reader.readuntil(b"hello")
                idle_from = loop.time()
                answered += 1
                await asyncio.sleep(0.1)
            async with asyncio.timeout(5):
                assert await reader.read(1) == b""  # closed by the server
            writer.close()
            return loop.time() - idle_from, answered
        finally:
            server.should_exit = True
            await task

    idle_for, answered = run(go())
    assert answered >= 5
    assert 0.25 <= idle_for <= 1.0


_DATE = re.compile(rb"\r\ndate: [^\r]*", re.IGNORECASE)
_WEBSOCKET = (
    b"GET /short HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
# The client's bytes in the writes it makes them in, each case ending in something the
# server closes the connection after, so its whole answer is what comes before the close.
UNUSUAL = {
    # uvicorn's websocket protocol takes the connection over (the app declines it: 403).
    "websocket upgrade": [_WEBSOCKET],
    "unsupported upgrade": [
        b"GET /short HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, close\r\nUpgrade: h2c\r\n\r\n"
    ],
    "parser error": [b"GET /short HTTP/1.1\r\nHost: t\r\nBad Header\r\n\r\n"],
    "parser error after an answer": [b"GET /short HTTP/1.1\r\nHost: t\r\n\r\nGARBAGE\r\n\r\n"],
    "three pipelined": [
        b"GET /short HTTP/1.1\r\nHost: t\r\n\r\nGET /chunked HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /close HTTP/1.1\r\nHost: t\r\n\r\n"
    ],
    "a head in pieces": [b"GET /sh", b"ort HTTP/1.1\r\nHo", b"st: t\r\nConnection: close\r\n\r\n"],
    "a body in pieces": [
        b"POST /close HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nab",
        b"cd",
        b"ef",
    ],
}


async def answered(port: int, writes: list[bytes]) -> bytes:
    """All the server writes back to `writes` until it closes the connection, its date
    field dropped (it may tick between two servers)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for data in writes:
        writer.write(data)
        await writer.drain()
    async with asyncio.timeout(10):
        got = await reader.read()
    writer.close()
    return _DATE.sub(b"", got)


@pytest.mark.parametrize("case", UNUSUAL)
def test_upgrades_parser_errors_and_pipelines_are_answered_as_by_uvicorns_protocol(
    case: str,
) -> None:
    """What the wire's data_received hands back to the protocol (an upgrade, a request
    the parser refuses) and what its answer's end does (a pipelined request to start),
    byte for byte as uvicorn's own protocol answers them on the same server."""

    async def both() -> list[bytes]:
        seen = []
        for http in (guarded(), HttpToolsProtocol):
            async with serving(http) as port:
                seen.append(await answered(port, UNUSUAL[case]))
        return seen

    ours, uvicorns = run(both())
    assert ours == uvicorns
    assert ours.startswith(b"HTTP/1.1 ")
