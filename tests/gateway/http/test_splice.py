"""The data plane's protocol splicing requests to an upstream connection (gateway/http/splice.py,
exchange.py): a real uvicorn server with the protocol and a splicer of the test's own
(nothing of the legacy layer), before scripted raw upstreams. Answers of every framing
are read by h11 (an independent parser) as h11 reads the upstream's own bytes; failures
before and after an answer began, the read timeout, Expect: 100-continue, pipelined
requests, and what the completion callback is told."""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote

import h11
import httptools
import pytest
import uvicorn

from gateway.http.exchange import gathered
from gateway.http.limits import HttpCounters, HttpLimits
from gateway.http.protocol import GuardedHttpTools
from gateway.http.splice import Failure, Headers, RequestHead, Splice, SpliceOutcome
from gateway.http.splice import Splicer as BaseSplicer
from httpkit.client import ClientError, HttpClient, Origin
from tests.httpkit.test_client import RawServer, _generated_answer, _h11_reading, _split
from triggers.http.responses import error_answer

# What the test's splice drops of the upstream's answer: the framing is the exchange's.
_ANSWER_DROPS = {b"content-length", b"transfer-encoding", b"connection", b"date"}


class Target(Splice):
    """A splice to one origin: the client's headers but Host, the answer's headers plus
    x-spliced, and failures told as 502/504 with the client error's reason."""

    def __init__(self, splicer: Splicer, head: RequestHead, *, capture_limit: int = 0) -> None:
        self.client = splicer.client
        self.origin = splicer.origin
        query = b"?" + head.query_string if head.query_string else b""
        self.target = head.raw_path + query
        framing = {b"host", b"content-length", b"transfer-encoding", b"expect"}
        self.headers = [(b"host", b"upstream")] + [h for h in head.headers if h[0] not in framing]
        self.capture_limit = capture_limit
        self.deadline_s: float | None = None
        self._splicer = splicer

    def response_headers(self, status: int, headers: Headers) -> Headers:
        kept = [(n, v) for n, v in headers if n not in _ANSWER_DROPS or n == b"content-length"]
        return [*kept, (b"x-spliced", b"yes")]

    def failure(self, error: ClientError) -> Failure:
        return Failure(
            status=504 if error.timed_out else 502, error=error.reason, message=error.message
        )

    def reroute(self, error: ClientError) -> bool:
        return False

    def finished(self, outcome: SpliceOutcome) -> None:
        self._splicer.finished.append(outcome)


class Splicer(BaseSplicer):
    """Splices every request but those under /asgi, which the ASGI app answers."""

    def __init__(self, client: HttpClient, origin: Origin, *, capture_limit: int = 0) -> None:
        self.client = client
        self.origin = origin
        self.capture_limit = capture_limit
        self.finished: list[SpliceOutcome] = []
        self.spliced_heads: list[RequestHead] = []

    def splice(self, head: RequestHead) -> Target | None:
        if head.path.startswith("/asgi"):
            return None
        head.request_id = f"rid-{len(self.spliced_heads) + 1}"
        self.spliced_heads.append(head)
        return Target(self, head, capture_limit=self.capture_limit)

    def spliced(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        assert outcome is self.finished[-1], "the splice's callback comes first"

    def error_answer(
        self, error: str, message: str, request_id: str
    ) -> tuple[list[tuple[bytes, bytes]], bytes]:
        return error_answer(error, message, request_id)


async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"asgi"})


@asynccontextmanager
async def gateway(
    origin: Origin, *, read_timeout_s: float = 5, capture_limit: int = 0
) -> AsyncIterator[tuple[int, Splicer, HttpCounters]]:
    client = HttpClient(connect_timeout_s=2, read_timeout_s=read_timeout_s)
    splicer = Splicer(client, origin, capture_limit=capture_limit)
    counters = HttpCounters()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    http = GuardedHttpTools.configured(HttpLimits(), counters, splicer)
    config = uvicorn.Config(
        asgi, http=http, lifespan="off", log_level="error", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield sock.getsockname()[1], splicer, counters
    finally:
        server.should_exit = True
        await task
        await client.aclose()


class Answered:
    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""


async def read_answers(
    reader: asyncio.StreamReader, client: h11.Connection, count: int = 1
) -> list[Answered]:
    """`count` answers on one connection, as h11 reads them."""
    answers: list[Answered] = []
    async with asyncio.timeout(10):
        while len(answers) < count:
            answer = Answered()
            while True:
                event = client.next_event()
                if event is h11.NEED_DATA:
                    client.receive_data(await reader.read(65536))
                elif isinstance(event, h11.Response):
                    answer.status, answer.headers = event.status_code, list(event.headers)
                elif isinstance(event, h11.Data):
                    answer.body += event.data
                elif isinstance(event, h11.EndOfMessage):
                    break
            answers.append(answer)
            if len(answers) < count:
                client.start_next_cycle()
    return answers


async def ask(port: int, method: str = "GET", target: str = "/x") -> Answered:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    client = h11.Connection(h11.CLIENT)
    writer.write(client.send(h11.Request(method=method, target=target, headers=[("Host", "t")])))
    writer.write(client.send(h11.EndOfMessage()))
    try:
        (answer,) = await read_answers(reader, client)
    finally:
        writer.close()
    return answer


async def test_answers_of_every_framing_reach_the_client_as_h11_reads_the_upstreams() -> None:
    rng = random.Random(29)
    answers = [_generated_answer(rng) for _ in range(60)]
    async with (
        RawServer(lambda n: _split(answers[n], rng)) as origin,
        gateway(origin) as (port, splicer, counters),
    ):
        for number, raw in enumerate(answers):
            got = await ask(port)
            status, headers, body = _h11_reading(raw)
            case = f"answer {number}: {raw[:300]!r}"
            assert (got.status, got.body) == (status, body), case
            # What the splice says the client gets; Date, Server and the framing are
            # the server's own (a body without a length goes chunked).
            expected = [(n, v) for n, v in headers if n not in _ANSWER_DROPS]
            length = [(n, v) for n, v in headers if n == b"content-length"]
            own = (b"date", b"server", b"transfer-encoding")
            seen = [h for h in got.headers if h[0] not in own]
            assert sorted(seen) == sorted([*expected, *length, (b"x-spliced", b"yes")]), case
    assert counters.spliced == len(answers)
    assert [outcome.status for outcome in splicer.finished] == [
        _h11_reading(raw)[0] for raw in answers
    ]
    assert all(outcome.failure is None for outcome in splicer.finished)


async def test_a_body_to_the_close_and_a_head_answer() -> None:
    closing = RawServer(lambda n: [b"HTTP/1.1 200 OK\r\n\r\nto the", b" end"], close_after=True)
    async with closing as origin, gateway(origin) as (port, _, _):
        got = await ask(port)
    assert (got.status, got.body) == (200, b"to the end")
    assert (b"transfer-encoding", b"chunked") in got.headers
    head = RawServer(lambda n: [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"])
    async with head as origin, gateway(origin) as (port, _, _):
        got = await ask(port, "HEAD")
        again = await ask(port, "HEAD")
    assert (got.status, got.body, again.status) == (200, b"", 200)
    assert (b"content-length", b"10") in got.headers
    assert head.connections == 1  # kept alive after an answer without a body


async def test_a_short_answer_cut_before_its_end_is_a_clean_failure_answer() -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
    async with (
        RawServer(lambda n: [cut], close_after=True) as origin,
        gateway(origin) as (port, splicer, _),
    ):
        got = await ask(port)
    body = json.loads(got.body)
    assert got.status == 502
    assert (body["error"], body["request_id"]) == ("closed", "rid-1")
    assert (b"x-request-id", b"rid-1") in got.headers
    (outcome,) = splicer.finished
    assert (outcome.status, outcome.failure) == (502, "closed")


async def test_a_long_answer_cut_mid_body_cuts_the_clients_connection() -> None:
    size = 1024 * 1024
    cut = f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode() + b"x" * 1000
    async with (
        RawServer(lambda n: [cut], close_after=True) as origin,
        gateway(origin) as (port, splicer, _),
    ):
        with pytest.raises(h11.RemoteProtocolError):
            await ask(port)
    (outcome,) = splicer.finished
    assert (outcome.status, outcome.failure) == (200, "closed")


async def test_no_answer_head_within_the_read_timeout_is_a_504() -> None:
    async with (
        RawServer(lambda n: []) as origin,
        gateway(origin, read_timeout_s=0.2) as (port, splicer, _),
    ):
        got = await ask(port)
    assert got.status == 504
    assert json.loads(got.body)["message"] == "the answer's head did not come within 0.2s"
    assert splicer.finished[0].failure == "read_timeout"


async def test_pipelined_requests_are_answered_in_order() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nupstream"
    async with RawServer(lambda n: [answer]) as origin, gateway(origin) as (port, splicer, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        # Three requests in one write, before any answer is read.
        writer.write(b"".join(f"GET /{t} HTTP/1.1\r\nHost: t\r\n\r\n".encode() for t in "abc"))
        bodies = await _read_pipelined(reader, 3)
        writer.close()
    # The first is spliced; those that arrive while it is answered take the ASGI cycle.
    assert bodies == [b"upstream", b"asgi", b"asgi"]
    assert len(splicer.finished) == 1


async def _read_pipelined(reader: asyncio.StreamReader, count: int) -> list[bytes]:
    bodies: list[bytes] = []
    client = h11.Connection(h11.CLIENT)
    for _ in range(count):
        client.send(h11.Request(method="GET", target="/", headers=[("Host", "t")]))
        client.send(h11.EndOfMessage())
        (answer,) = await read_answers(reader, client)
        bodies.append(answer.body)
        client.start_next_cycle()
    return bodies


async def test_expect_100_continue_is_answered_and_the_bodies_captured_up_to_the_limit() -> None:
    answer = b"HTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\ndone"
    server = RawServer(lambda n: [answer])
    answered: list[Answered] = []
    async with server as origin, gateway(origin, capture_limit=8) as (port, splicer, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /up HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n"
        )
        async with asyncio.timeout(10):
            assert (await reader.readuntil(b"\r\n\r\n")) == b"HTTP/1.1 100 Continue\r\n\r\n"
        writer.write(b"4\r\nbody\r\n3\r\n!!!\r\n0\r\n\r\n")
        client = h11.Connection(h11.CLIENT)
        for body in (b"", b"123456789"):
            if body:  # over the capture limit: passed on whole, not kept
                writer.write(b"POST /up HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\n" + body)
            # h11 only reads: what it would send went out above.
            client.send(h11.Request(method="POST", target="/up", headers=[("Host", "t")]))
            client.send(h11.EndOfMessage())
            answered += await read_answers(reader, client)
            client.start_next_cycle()
        writer.close()
    got, again = answered
    assert (got.status, got.body, again.status) == (201, b"done", 201)
    # Re-framed chunked to the upstream, without the Expect the gateway answered.
    assert server.bodies == [b"body!!!", b"123456789"]
    assert b"transfer-encoding: chunked" in server.requests[0].lower()
    assert b"expect" not in server.requests[0].lower()
    first, second = splicer.finished
    assert first.request_body == b"body!!!"
    assert first.answer is not None
    assert (first.answer.status, first.answer.body) == (201, b"done")
    assert (b"content-length", b"4") in first.answer.headers
    assert second.request_body is None


async def test_a_body_still_coming_when_the_answer_ended_is_not_captured() -> None:
    # An upstream may answer from the head alone (a GET's body is seldom read). What the
    # gateway had of the body then is not the request: the completion callback must not
    # take it for one (a shadow copy would go out with a body cut short).
    async def answer_from_the_head(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    upstream = await asyncio.start_server(answer_from_the_head, "127.0.0.1", 0)
    origin = Origin(host="127.0.0.1", port=upstream.sockets[0].getsockname()[1], tls=False)
    try:
        async with gateway(origin, capture_limit=64) as (port, splicer, _):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /up HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\n1234")
            client = h11.Connection(h11.CLIENT)
            client.send(h11.Request(method="GET", target="/up", headers=[("Host", "t")]))
            client.send(h11.EndOfMessage())
            (got,) = await read_answers(reader, client)
            writer.write(b"56789")  # the rest of the body, after the answer
            writer.close()
    finally:
        upstream.close()
    assert (got.status, got.body) == (200, b"ok")
    (outcome,) = splicer.finished
    assert outcome.status == 200
    assert outcome.request_body is None, outcome.request_body


@pytest.mark.parametrize("connection", ["", "Connection: keep-alive\r\n"])
async def test_an_http_1_0_client_gets_its_answer_and_the_connection_closed(
    connection: str,
) -> None:
    # As uvicorn does: HTTP/1.0 is answered, then closed, Connection: keep-alive or not.
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nold"
    async with RawServer(lambda n: [answer]) as origin, gateway(origin) as (port, _, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(f"GET /x HTTP/1.0\r\n{connection}\r\n".encode())
        async with asyncio.timeout(10):
            raw = await reader.read()  # to the close
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nconnection: close" in head
    assert body == b"old"


async def test_a_failure_answer_to_head_has_no_body_and_the_connection_goes_on() -> None:
    with socket.socket() as closed:  # bound, never listening: connections are refused
        closed.bind(("127.0.0.1", 0))
        nowhere = Origin(host="127.0.0.1", port=closed.getsockname()[1], tls=False)
    async with gateway(nowhere) as (port, _, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        client = h11.Connection(h11.CLIENT)
        answers = []
        try:
            for method in ("HEAD", "GET"):
                request = h11.Request(method=method, target="/x", headers=[("Host", "t")])
                writer.write(client.send(request))
                writer.write(client.send(h11.EndOfMessage()))
                # A body sent after HEAD's answer is read as the next answer's start.
                answers += await read_answers(reader, client)
                client.start_next_cycle()
        finally:
            writer.close()
        head, get = answers
    assert (head.status, head.body) == (502, b"")
    assert (get.status, json.loads(get.body)["error"]) == (502, "connect_failed")
    length = dict(head.headers)[b"content-length"]
    assert int(length) == len(get.body)  # request ids rid-1 and rid-2: the same length


def _generated_request(rng: random.Random) -> tuple[bytes, str, bytes, int | None, bool]:
    """A request with a generated target and body framing: its bytes, the target, the
    body, and the Content-Length and chunked the head says."""
    chars = "abcXYZ019-._~!$&'()*+,;=:@%2F%41%7e/"
    path = "/" + "".join(rng.choice(chars) for _ in range(rng.randrange(12)))
    if rng.random() < 0.5:
        path += "?" + "".join(rng.choice(chars + "?/") for _ in range(rng.randrange(10)))
    if rng.random() < 0.15:
        path = "http://example.test:81" + path
    body = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
    framing = rng.choice(["none", "length", "chunked"])
    fields = [b"Host: t", b"X-Seen: " + str(rng.random()).encode()]
    if framing == "length":
        fields.append(b"Content-Length: %d" % len(body))
        encoded = body
    elif framing == "chunked":
        fields.append(b"Transfer-Encoding: chunked")
        encoded = (b"%x\r\n%b\r\n" % (len(body), body) if body else b"") + b"0\r\n\r\n"
    else:
        body = encoded = b""
    rng.shuffle(fields)
    method = b"GET" if framing == "none" else rng.choice([b"POST", b"PUT"])
    raw = b"%b %b HTTP/1.1\r\n%b\r\n\r\n%b" % (method, path.encode(), b"\r\n".join(fields), encoded)
    length = len(body) if framing == "length" else None
    return raw, path, body, length, framing == "chunked"


async def test_the_splicer_gets_each_heads_target_and_framing_as_httptools_parses_them() -> None:
    rng = random.Random(13)
    requests = [_generated_request(rng) for _ in range(40)]
    answer = b"HTTP/1.1 204 No Content\r\n\r\n"
    server = RawServer(lambda n: [answer])
    async with server as origin, gateway(origin) as (port, splicer, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for raw, *_ in requests:
            writer.write(raw)
            async with asyncio.timeout(10):
                assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 204 ")
        writer.close()
    assert len(splicer.spliced_heads) == len(requests)
    for head, (raw, target, _, length, chunked) in zip(
        splicer.spliced_heads, requests, strict=True
    ):
        url = httptools.parse_url(target.encode())
        assert (head.method, head.raw_path, head.query_string) == (
            raw.split(b" ")[0].decode(),
            url.path,
            url.query or b"",
        ), target
        assert head.path == unquote(url.path.decode())
        assert (head.content_length, head.chunked) == (length, chunked)
    assert server.bodies == [body for _, _, body, _, _ in requests]


async def test_a_post_without_a_body_reaches_the_upstream_with_a_zero_length() -> None:
    # Some upstreams answer a POST with no framing at all 411 Length Required; a GET
    # without a body goes with none, as the client sent it.
    answer = b"HTTP/1.1 204 No Content\r\n\r\n"
    server = RawServer(lambda n: [answer])
    async with server as origin, gateway(origin) as (port, _, _):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for method in (b"POST", b"GET"):
            writer.write(method + b" /x HTTP/1.1\r\nHost: t\r\n\r\n")
            async with asyncio.timeout(10):
                assert (await reader.readuntil(b"\r\n\r\n")).startswith(b"HTTP/1.1 204 ")
        writer.close()
    post, get = (head.lower().split(b"\r\n") for head in server.requests)
    assert post[0] == b"post /x http/1.1" and b"content-length: 0" in post
    assert get[0] == b"get /x http/1.1"
    assert not [f for f in get if f.startswith((b"content-length", b"transfer-encoding"))]


async def test_spliced_answers_carry_the_servers_date_as_it_changes() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def date(got: Answered) -> bytes:
        return dict(got.headers)[b"date"]

    async with RawServer(lambda n: [answer]) as origin, gateway(origin) as (port, _, _):
        first = date(await ask(port))
        # uvicorn's own answers (the ASGI path) show when its Date has moved on.
        async with asyncio.timeout(5):
            while True:
                later = date(await ask(port, target="/asgi"))
                if later != first:
                    break
                await asyncio.sleep(0.05)
        spliced = date(await ask(port))
    # The same as uvicorn's then, or a second on when the clock ticked between the two.
    assert spliced != first
    assert email.utils.parsedate_to_datetime(spliced.decode()) >= (
        email.utils.parsedate_to_datetime(later.decode())
    )


def test_an_answer_is_gathered_by_a_content_length_of_digits_up_to_64_kib() -> None:
    # Python's own reading of the length is the oracle: the exchange reads it in C.
    rng = random.Random(31)
    cases = [b"", b"0", b"65536", b"65537", b"065536", b"+5", b"-1", b" 5", b"5 ", b"\xb2"]
    cases += [str(rng.randint(0, 200_000)).encode() for _ in range(300)]
    cases += [bytes(rng.choices(b"0123456789x+- \xff", k=rng.randint(0, 8))) for _ in range(300)]
    for length in cases:
        expected = length.isdigit() and int(length) <= 64 * 1024
        assert gathered(length) == expected, length
