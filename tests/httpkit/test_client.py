"""The pooled HTTP/1.1 client against scripted raw servers: answers framed every way HTTP/1.1
allows, compared with h11's reading of the same bytes (an independent parser), plus 1xx,
HEAD, keep-alive reuse, a peer that closes idle connections, and both timeouts."""

from __future__ import annotations

import asyncio
import random
import socket
from collections.abc import AsyncIterator, Callable

import h11
import pytest

from httpkit.client import ClientError, HttpClient, Origin, Response

Script = Callable[[int], list[bytes]]


class RawServer:
    """Answers the Nth request (over all connections) with `script(N)`, written piece by
    piece; reads request heads and Content-Length or chunked bodies."""

    def __init__(self, script: Script, *, close_after: bool = False) -> None:
        self.script = script
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.bodies: list[bytes] = []
        self.connections = 0
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Origin:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return Origin(host="127.0.0.1", port=port, tls=False)

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.CancelledError):
                    # The client left, or the test ended with this connection open.
                    return
                self.requests.append(head)
                self.bodies.append(await _read_body(reader, head))
                for piece in self.script(len(self.requests) - 1):
                    writer.write(piece)
                    await writer.drain()
                if self.close_after:
                    return
        finally:
            writer.close()


async def _read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    lines = head.lower().split(b"\r\n")
    for line in lines:
        if line.startswith(b"content-length:"):
            return await reader.readexactly(int(line.split(b":")[1]))
    if b"transfer-encoding: chunked" not in lines:
        return b""
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        body += (await reader.readexactly(size + 2))[:-2]
        if size == 0:
            return body


def _client(**kwargs: float) -> HttpClient:
    return HttpClient(
        connect_timeout_s=kwargs.get("connect", 2), read_timeout_s=kwargs.get("read", 5)
    )


async def _get(client: HttpClient, origin: Origin, method: str = "GET") -> tuple[Response, bytes]:
    response = await client.request(origin, method, b"/x", [(b"host", b"test")])
    body = await response.read(1 << 30)
    assert body is not None
    response.release()
    return response, body


def _generated_answer(rng: random.Random) -> bytes:
    """A random HTTP/1.1 answer: some headers, a body by length, chunked (with extensions
    and trailers) or none (204/304), maybe after 1xx answers."""
    out = b""
    for _ in range(rng.choice([0, 0, 1, 2])):
        out += f"HTTP/1.1 {rng.choice([100, 102, 103])} Info\r\nLink: </a>; rel=x\r\n\r\n".encode()
    status = rng.choice([200, 201, 204, 304, 404, 500, 302])
    headers = [
        (f"X-H{i}", "".join(rng.choices("abc ,;=", k=rng.randint(0, 20))).strip())
        for i in range(rng.randint(0, 6))
    ]
    head = f"HTTP/1.1 {status} Reason\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers)
    body = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 3000)))
    if status in (204, 304):
        return out + (head + "\r\n").encode()
    if rng.random() < 0.5:
        return out + (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    chunks, rest = [], body
    while rest:
        size = rng.randint(1, 700)
        ext = ";x=1" if rng.random() < 0.2 else ""
        chunks.append(f"{len(rest[:size]):X}{ext}\r\n".encode() + rest[:size] + b"\r\n")
        rest = rest[size:]
    trailer = "X-Trailer: t\r\n" if rng.random() < 0.3 else ""
    return (
        out
        + (head + "Transfer-Encoding: chunked\r\n\r\n").encode()
        + b"".join(chunks)
        + f"0\r\n{trailer}\r\n".encode()
    )


def _h11_reading(raw: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    connection = h11.Connection(h11.CLIENT)
    connection.send(h11.Request(method="GET", target="/x", headers=[("host", "test")]))
    connection.receive_data(raw)
    status, headers, body = 0, [], b""
    while True:
        event = connection.next_event()
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            status, headers = event.status_code, [(n, v) for n, v in event.headers]
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage):
            return status, headers, body
        else:
            raise AssertionError(f"h11 could not read a generated answer: {event!r}")


def _split(raw: bytes, rng: random.Random) -> list[bytes]:
    cuts = sorted(rng.sample(range(1, len(raw)), min(len(raw) - 1, rng.randint(0, 8))))
    return [raw[a:b] for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True)]


async def test_generated_answers_read_as_h11_reads_them() -> None:
    rng = random.Random(13)
    answers = [_generated_answer(rng) for _ in range(150)]
    async with RawServer(lambda n: _split(answers[n], rng)) as origin:
        client = _client()
        for raw in answers:
            response, body = await _get(client, origin)
            assert (response.status, response.headers, body) == _h11_reading(raw)
        await client.aclose()


async def test_head_answers_have_no_body_and_the_connection_is_reused() -> None:
    answers = [
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ]
    server = RawServer(lambda n: [answers[n]])
    async with server as origin:
        client = _client()
        head, head_body = await _get(client, origin, "HEAD")
        _, get_body = await _get(client, origin)
        await client.aclose()
    assert (head.status, head_body, get_body) == (200, b"", b"ok")
    assert server.connections == 1


async def test_many_requests_share_one_connection() -> None:
    server = RawServer(lambda n: [b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", b"k"])
    async with server as origin:
        client = _client()
        for _ in range(20):
            await _get(client, origin)
        await client.aclose()
    assert (len(server.requests), server.connections) == (20, 1)


async def test_a_body_to_the_close_is_read_and_the_connection_not_kept() -> None:
    server = RawServer(lambda n: [b"HTTP/1.1 200 OK\r\n\r\n", b"to the", b" end"], close_after=True)
    async with server as origin:
        client = _client()
        _, first = await _get(client, origin)
        _, second = await _get(client, origin)
        await client.aclose()
    assert (first, second, server.connections) == (b"to the end", b"to the end", 2)


async def test_an_idle_connection_the_peer_closed_is_replaced_without_an_error() -> None:
    # Keep-alive by the protocol, but the server closes after each answer: the pooled
    # connection is dead when taken, and the request goes out again on a new one.
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    server = RawServer(lambda n: [answer], close_after=True)
    async with server as origin:
        client = _client()
        bodies = [(await _get(client, origin))[1] for _ in range(5)]
        await client.aclose()
    assert bodies == [b"ok"] * 5
    assert server.connections == 5


async def test_streamed_bodies_go_out_chunked_or_by_length() -> None:
    async def parts() -> AsyncIterator[bytes]:
        for piece in (b"abc", b"", b"defg"):
            yield piece

    server = RawServer(lambda n: [b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    async with server as origin:
        client = _client()
        for length in (None, 7):
            response = await client.request(
                origin, "POST", b"/u", [(b"host", b"t")], parts(), content_length=length
            )
            await response.read(10)
            response.release()
        await client.aclose()
    assert server.bodies == [b"abcdefg", b"abcdefg"]
    assert b"transfer-encoding: chunked" in server.requests[0]
    assert b"content-length: 7" in server.requests[1]


async def test_a_slow_answer_is_a_read_timeout() -> None:
    server = RawServer(lambda n: [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab"])
    async with server as origin:
        client = _client(read=0.3)
        response = await client.request(origin, "GET", b"/", [(b"host", b"t")])
        with pytest.raises(ClientError) as body_wait:
            await response.read(100)
        await client.aclose()
    assert body_wait.value.reason == "read_timeout"
    assert body_wait.value.timed_out


async def test_no_answer_at_all_is_a_read_timeout_and_a_refused_port_a_connect_failure() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepted by the kernel, never answered
    port = listener.getsockname()[1]
    client = _client(read=0.3)
    with pytest.raises(ClientError) as silent:
        await client.request(Origin(host="127.0.0.1", port=port, tls=False), "GET", b"/", [])
    listener.close()
    with pytest.raises(ClientError) as refused:
        await client.request(Origin(host="127.0.0.1", port=port, tls=False), "GET", b"/", [])
    await client.aclose()
    assert (silent.value.reason, refused.value.reason) == ("read_timeout", "connect_failed")


async def test_a_full_listen_queue_is_a_connect_timeout() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    # The queue holds one connection; later SYNs are dropped, so a connect hangs.
    filler = socket.create_connection(("127.0.0.1", port))
    client = _client(connect=0.3)
    with pytest.raises(ClientError) as hung:
        await client.request(Origin(host="127.0.0.1", port=port, tls=False), "GET", b"/", [])
    await client.aclose()
    filler.close()
    listener.close()
    assert hung.value.reason == "connect_timeout"


async def test_an_unread_answer_waits_in_at_most_the_high_water_mark() -> None:
    size = 16 * 1024 * 1024
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode()
    server = RawServer(lambda n: [head, *(b"x" * 65536 for _ in range(size // 65536))])
    async with server as origin:
        client = _client()
        response = await client.request(origin, "GET", b"/", [(b"host", b"t")])
        connection = response._connection
        # Let the server write until the sockets' buffers are full and it must wait.
        for _ in range(50):
            await asyncio.sleep(0.01)
        waiting = connection._buffered
        total = 0
        ended = False
        while not ended:
            data, ended = await response.read_some()
            total += len(data)
        response.release()
        await client.aclose()
    assert total == size
    # Reading pauses past 256 KiB; the read that passed it may add up to 256 KiB more.
    assert 256 * 1024 < waiting <= 512 * 1024


async def test_idle_connections_close_after_the_idle_timeout() -> None:
    server = RawServer(lambda n: [b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nk"])
    async with server as origin:
        client = HttpClient(connect_timeout_s=2, read_timeout_s=5, idle_timeout_s=0.2)
        await _get(client, origin)
        assert client.idle_connections() == 1
        for _ in range(100):
            if client.idle_connections() == 0:
                break
            await asyncio.sleep(0.01)
        assert client.idle_connections() == 0
        await _get(client, origin)
        await client.aclose()
    assert server.connections == 2
    assert _client().idle_timeout_s == 4.0
