"""An ASGI worker's own HTTP server (http_serve.py) beside uvicorn's httptools protocol,
its oracle: generated requests on one kept connection to each, the scope and messages
the app gets and the bytes answered compared side by side; and its keep-alive."""

from __future__ import annotations

import asyncio
import random
import socket
import time
from pathlib import Path
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from runtime_adapters.python.events import Context
from runtime_adapters.python.http_serve import Invocations, serve_http

STATE = {"lifespan": "state"}


class Recorder:
    """An app answering by path, noting the scope and every message it received."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.contexts: list[Context] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope = dict(scope)
        context = scope.pop("gaia.context", None)
        if context is not None:
            self.contexts.append(context)
        received: list[dict[str, Any]] = []
        self.seen.append({"scope": scope, "received": received})
        path = scope["path"]
        body = b""
        if scope["method"] != "GET" or "read" in path:
            while True:
                message = await receive()
                received.append(message)
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
        if "raise" in path:
            raise RuntimeError("the app failed")
        number = len(self.seen) - 1
        answer = b"%s %s %d" % (scope["method"].encode(), scope["raw_path"], len(body))
        headers = [(b"Content-Type", b"text/plain"), (b"X-N", b"%d" % number)]
        if "close" in path:
            headers.append((b"Connection", b"close"))
        if "chunked" in path:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": answer, "more_body": True})
            await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body"})
        elif "empty" in path:
            await send({"type": "http.response.start", "status": 204, "headers": headers})
            await send({"type": "http.response.body"})
        else:
            length = len(answer) + len(body) + len(b"#%d" % number)
            headers.append((b"content-length", str(length).encode()))
            await send({"type": "http.response.start", "status": 201, "headers": headers})
            await send({"type": "http.response.body", "body": answer + body + b"#%d" % number})
        if "read" in path:  # after a complete answer, receive says the request is over
            received.append(await receive())


def requests(rng: random.Random, count: int) -> list[bytes]:
    """Generated heads and bodies; the last one closes the connection."""
    out = []
    for number in range(count):
        method = rng.choice([b"GET", b"POST", b"HEAD", b"PUT"])
        path = rng.choice([b"/a", b"/read/%C3%A9t%C3%A9", b"/chunked", b"/empty", b"/x%20y"])
        query = rng.choice([b"", b"?q=1&r=%20", b"?"])
        last = number == count - 1
        # HTTP/1.0 closes (uvicorn keeps no 1.0 connection alive), so only the last.
        version = rng.choice([b"1.1", b"1.0"]) if last else b"1.1"
        headers = [b"Host: gaia.test", b"X-Mixed-Case: A b"]
        headers += rng.sample([b"Accept: */*", b"x-multi: 1", b"x-multi: 2", b"X-Empty: "], 2)
        body = rng.choice([b"", b"payload", b"x" * 70_000])
        if method in (b"POST", b"PUT") and rng.random() < 0.5:
            headers.append(b"Transfer-Encoding: chunked")
            framed = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n"
        else:
            headers.append(b"Content-Length: %d" % len(body))
            framed = body
        if body and rng.random() < 0.3:
            headers.append(b"Expect: 100-continue")
        if last and version == b"1.1":
            headers.append(b"Connection: close")
        out.append(b"%s %s%s HTTP/%s\r\n%s\r\n\r\n%s" % (
            method, path, query, version, b"\r\n".join(headers), framed))  # fmt: skip
    return out


def with_context(request: bytes, number: int) -> bytes:
    """The request as the gateway passes it: its context header last."""
    head, _, body = request.partition(b"\r\n\r\n")
    return head + b"\r\nx-gaia-context: %016x default\r\n\r\n" % number + body


class _Uvicorn(HttpToolsProtocol):
    """uvicorn's protocol as the worker's server used to be: no peer or socket address."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.server = None
        self.client = None


async def start_uvicorn(app: Recorder, path: str) -> asyncio.AbstractServer:
    config = Config(
        app, http="httptools", ws="none", lifespan="off", proxy_headers=False,
        server_header=False, date_header=False, access_log=False, log_config=None,
    )  # fmt: skip
    config.load()
    loop = asyncio.get_running_loop()
    state = ServerState()
    return await loop.create_unix_server(lambda: _Uvicorn(config, state, STATE, loop), path)


async def start_gaia(app: Recorder, path: str, keep_alive_s: float = 5.0) -> asyncio.AbstractServer:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    invocations = Invocations("fn", 3, 30.0)
    return await serve_http(
        app, STATE, listener, invocations=invocations, keep_alive_s=keep_alive_s
    )


def ending(request: bytes, number: int) -> bytes:
    """How Recorder's answer to `request` (the number-th) ends."""
    method, path = request.split(b" ")[:2]
    if method == b"HEAD" or b"empty" in path:
        return b"x-n: %d\r\n" % number  # then maybe uvicorn's own, and the blank line
    if b"chunked" in path:
        return b"0\r\n\r\n"
    return b"#%d" % number


async def exchange(path: str, sent: list[bytes], first: int = 0) -> bytes:
    """Each request in turn on one connection, each sent once the one before is answered,
    the last read to the end: everything the server wrote. `first`: how many requests
    the app has answered before."""
    reader, writer = await asyncio.open_unix_connection(path)
    answered = b""
    for number, request in enumerate(sent):
        writer.write(request)
        await writer.drain()
        end = ending(request, first + number)
        start = len(answered)
        while not (end in answered[start:] and answered.endswith((end, b"\r\n\r\n"))):
            chunk = await asyncio.wait_for(reader.read(1 << 20), timeout=10)
            if not chunk:
                break
            answered += chunk
    answered += await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    return answered


async def test_generated_requests_get_what_uvicorn_gives_them(tmp_path: Path) -> None:
    rng = random.Random(14)
    sent = requests(rng, 24)
    bare, gaia = Recorder(), Recorder()
    servers = [
        await start_uvicorn(bare, str(tmp_path / "uvicorn.sock")),
        await start_gaia(gaia, str(tmp_path / "gaia.sock")),
    ]
    try:
        expected = await exchange(str(tmp_path / "uvicorn.sock"), sent)
        got = await exchange(
            str(tmp_path / "gaia.sock"),
            [with_context(request, number) for number, request in enumerate(sent)],
        )
    finally:
        for server in servers:
            server.close()
    assert got == expected
    assert expected.count(b"HTTP/1.1 ") >= len(sent)  # every request answered (and 100s)
    assert gaia.seen == bare.seen
    assert len(gaia.seen) == len(sent)
    assert [(c.function, c.revision, c.alias, c.request_id) for c in gaia.contexts] == [
        ("fn", 3, "default", f"{number:016x}") for number in range(len(sent))
    ]
    assert all(29 < c.remaining_ms() / 1000 <= 30 for c in gaia.contexts[-1:])


async def test_an_app_that_fails_gets_uvicorns_500_and_a_clients_context_header_stays(
    tmp_path: Path,
) -> None:
    sent = [
        b"GET /raise HTTP/1.1\r\nHost: a\r\n\r\n",
        b"GET /a HTTP/1.1\r\nx-gaia-context: client's own\r\nHost: a\r\n\r\n",
    ]
    bare, gaia = Recorder(), Recorder()
    servers = [
        await start_uvicorn(bare, str(tmp_path / "uvicorn.sock")),
        await start_gaia(gaia, str(tmp_path / "gaia.sock")),
    ]
    try:
        bare_failed = await exchange(str(tmp_path / "uvicorn.sock"), sent[:1])
        expected = await exchange(str(tmp_path / "uvicorn.sock"), sent[1:], first=1)
        failed = await exchange(str(tmp_path / "gaia.sock"), [with_context(sent[0], 1)])
        got = await exchange(str(tmp_path / "gaia.sock"), [with_context(sent[1], 2)], first=1)
    finally:
        for server in servers:
            server.close()
    assert failed == bare_failed
    assert failed.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")
    assert failed.endswith(b"connection: close\r\n\r\nInternal Server Error")
    assert got == expected
    assert gaia.seen[-1] == bare.seen[-1]
    assert (b"x-gaia-context", b"client's own") in gaia.seen[-1]["scope"]["headers"]


async def wait_closed(reader: asyncio.StreamReader, deadline_s: float) -> float:
    """When the server closed the connection (monotonic seconds), waiting at most
    `deadline_s`."""
    data = await asyncio.wait_for(reader.read(), timeout=deadline_s)
    assert data == b""
    return time.monotonic()


async def test_an_idle_connection_closes_after_the_keep_alive_and_not_before(
    tmp_path: Path,
) -> None:
    path = str(tmp_path / "gaia.sock")
    server = await start_gaia(Recorder(), path, keep_alive_s=1.0)
    request = with_context(b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n", 1)
    try:
        reader, writer = await asyncio.open_unix_connection(path)
        # Requests closer together than the keep-alive keep the connection open, well
        # past the first answer's keep-alive (the loop's timer is pushed back, not
        # re-armed: a timer that closed regardless would cut this sequence short).
        started = time.monotonic()
        for number in range(8):
            writer.write(request)
            answer = await asyncio.wait_for(reader.readuntil(b"GET /a 0#%d" % number), 5)
            assert answer.startswith(b"HTTP/1.1 201 Created")
            answered = time.monotonic()
            if number < 7:
                await asyncio.sleep(0.3)
        assert answered - started > 2.0
        closed = await wait_closed(reader, deadline_s=10)
        # Not before the keep-alive from the last answer (less its delivery), nor long after.
        assert 0.9 <= closed - answered < 5
        writer.close()
    finally:
        server.close()


class HeaderEcho:
    """An app answering with the header the request's query names (hex name, hex
    value), noting what its `send` raised (uvicorn's refusals are RuntimeErrors)."""

    def __init__(self) -> None:
        self.raised: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        name, value = (bytes.fromhex(part) for part in scope["query_string"].decode().split("."))
        headers = [(name, value), (b"Content-Length", b"2")]
        try:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
        except RuntimeError as exc:
            self.raised.append(str(exc))
            raise
        self.raised.append("")
        await send({"type": "http.response.body", "body": b"ok"})


def header_cases(rng: random.Random) -> list[tuple[bytes, bytes]]:
    """Every byte alone in a name and in a value, then generated mixes of the bytes
    uvicorn refuses in one or the other, letters of both cases, and the rest."""
    cases = [(b"x-%c" % c, b"v") for c in range(256)]
    cases += [(b"x-n", b"a%cb" % c) for c in range(256)]
    alphabet = bytes(range(0x20)) + b'()<>@,;:[]={} \t\\"\x7f\x80\xffaZ-_.09'
    for _ in range(200):
        name = bytes(rng.choice(alphabet[-12:] * 8 + alphabet) for _ in range(rng.randint(1, 12)))
        value = bytes(rng.choice(alphabet[-12:] * 8 + alphabet) for _ in range(rng.randint(0, 12)))
        cases.append((name, value))
    return cases


async def answer_of(path: str, request: bytes) -> bytes:
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(request)
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    return answer


async def test_answer_headers_uvicorn_refuses_are_refused_and_the_rest_lowered_alike(
    tmp_path: Path,
) -> None:
    cases = header_cases(random.Random(7))
    bare, gaia = HeaderEcho(), HeaderEcho()
    uvicorn_path, gaia_path = str(tmp_path / "uvicorn.sock"), str(tmp_path / "gaia.sock")
    servers = [await start_uvicorn(bare, uvicorn_path), await start_gaia(gaia, gaia_path)]  # type: ignore[arg-type]
    try:
        for name, value in cases:
            request = b"GET /?%s.%s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % (
                name.hex().encode(), value.hex().encode())  # fmt: skip
            expected = await answer_of(uvicorn_path, request)
            got = await answer_of(gaia_path, with_context(request, 1))
            assert (name, value, got) == (name, value, expected)
    finally:
        for server in servers:
            server.close()
    assert gaia.raised == bare.raised
    assert "Invalid HTTP header name." in bare.raised
    assert "Invalid HTTP header value." in bare.raised
    assert bare.raised.count("") > len(cases) // 3  # and many answered


def targets(rng: random.Random) -> list[bytes]:
    """Request targets: origin-form paths with every printable byte and a few others,
    queries with more "?", fragments, absolute-form, the asterisk."""
    alphabet = bytes(range(0x21, 0x7F)) + b"\x80\xe9\xff"
    out = [b"/", b"/?", b"/a?b?c", b"/a#f", b"/a?q#f", b"*", b"http://h.test/p?q=1", b"//x"]
    for _ in range(120):
        target = b"/" + bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        out.append(target)
    return out


async def test_generated_request_targets_reach_the_app_as_on_uvicorn(tmp_path: Path) -> None:
    sent = [
        b"OPTIONS %s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" % target
        for target in targets(random.Random(3))
    ]
    bare, gaia = Recorder(), Recorder()
    uvicorn_path, gaia_path = str(tmp_path / "uvicorn.sock"), str(tmp_path / "gaia.sock")
    servers = [await start_uvicorn(bare, uvicorn_path), await start_gaia(gaia, gaia_path)]
    try:
        for request in sent:
            expected = await answer_of(uvicorn_path, request)
            got = await answer_of(gaia_path, with_context(request, 1))
            assert (request, got) == (request, expected)
    finally:
        for server in servers:
            server.close()
    assert gaia.seen == bare.seen
    assert len(bare.seen) > len(sent) // 2  # most reached the app (the rest: uvicorn's 400)


async def test_http_versions_of_requests_sent_together_or_split_are_uvicorns(
    tmp_path: Path,
) -> None:
    """The version of a request whose line begins the data read (1.1, as the gateway's
    always is), of one after another in the same data, after a blank line, and of a
    request line split between reads. Only 1.1 keeps a connection: each case its own."""
    one = b"GET /a HTTP/1.1\r\nHost: a\r\n\r\n"
    cases = [
        [b"GET /a HTTP/1.0\r\nHost: a\r\n\r\n"],
        [one + b"GET /a HTTP/1.0\r\nHost: a\r\n\r\n"],
        [one, b"\r\nGET /a HTTP/1.0\r\nHost: a\r\n\r\n"],
        [b"GET /a HTTP/1.1\r", b"\nHost: a\r\n\r\n" + b"GET /a HTTP/1.0\r\n\r\n"],
        [one, b"POST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nab" + one,
         one + b"GET /c HTTP/1.0\r\n\r\n"],
    ]  # fmt: skip
    bare, gaia = Recorder(), Recorder()
    uvicorn_path, gaia_path = str(tmp_path / "uvicorn.sock"), str(tmp_path / "gaia.sock")
    servers = [await start_uvicorn(bare, uvicorn_path), await start_gaia(gaia, gaia_path)]
    try:
        for case in cases:
            answers = []
            for path in (uvicorn_path, gaia_path):
                reader, writer = await asyncio.open_unix_connection(path)
                for data in case:
                    writer.write(data)
                    await writer.drain()
                    # Most likely each its own read (either way both must agree).
                    await asyncio.sleep(0.05)
                answers.append(await asyncio.wait_for(reader.read(), timeout=10))
                writer.close()
            assert answers[1] == answers[0]
    finally:
        for server in servers:
            server.close()
    assert gaia.seen == bare.seen
    versions = [(seen["scope"]["path"], seen["scope"]["http_version"]) for seen in bare.seen]
    assert versions == [
        ("/a", "1.0"),
        ("/a", "1.1"), ("/a", "1.0"),
        ("/a", "1.1"), ("/a", "1.0"),
        ("/a", "1.1"), ("/a", "1.0"),
        ("/a", "1.1"), ("/b", "1.1"), ("/a", "1.1"), ("/a", "1.1"), ("/c", "1.0"),
    ]  # fmt: skip
