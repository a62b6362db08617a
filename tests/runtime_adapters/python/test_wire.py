"""Pieces of the runtime that need no worker process: frames, events, responses."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from runtime_adapters.base import HttpRequest, Invocation, InvocationTimeout
from runtime_adapters.python.connection import Outcome, WorkerConnection
from runtime_adapters.python.events import CloudEvent, Headers, HttpRequestEvent, make_event
from runtime_adapters.python.instance import format_bytes
from runtime_adapters.python.logs import LineSplitter
from runtime_adapters.python.protocol import (
    Failed,
    Hello,
    HttpEvent,
    Invoke,
    Reply,
    ToWorker,
    frame,
)
from runtime_adapters.python.responses import to_response
from runtime_adapters.python.sandbox import Sandbox

ENCODER = msgspec.msgpack.Encoder()


class Owner:
    def __init__(self) -> None:
        self.events: list[str] = []

    def connection_closed(self) -> None:
        self.events.append("closed")

    def protocol_error(self, reason: str) -> None:
        self.events.append(f"error: {reason}")

    def late_reply(self) -> None:
        self.events.append("late")

    def invocation_expired(self) -> None:
        self.events.append("expired")


class Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []

    def write(self, data: Any) -> None:
        self.written.append(bytes(data))

    def is_closing(self) -> bool:
        return False


def connection() -> tuple[WorkerConnection, Owner, Transport]:
    owner = Owner()
    conn = WorkerConnection(owner, asyncio.get_running_loop())
    transport = Transport()
    conn.connection_made(transport)
    return conn, owner, transport


def invocation() -> Invocation:
    return Invocation(
        request_id="req",
        trigger="http",
        alias="prod",
        event=HttpRequest(
            method="GET", path="/", query_string=b"q=1", headers=[], params={}, body=b""
        ),
    )


async def test_invoke_frame_round_trips_through_the_worker_decoder() -> None:
    conn, _, transport = connection()
    future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    request_id = conn.send(future, invocation(), 1500)
    assert transport.written == [], "written at the end of the loop's pass"
    await asyncio.sleep(0)
    (data,) = transport.written
    assert int.from_bytes(data[:4], "big") == len(data) - 4
    message = msgspec.msgpack.Decoder(ToWorker).decode(data[4:])
    assert message == Invoke(
        request_id, "req", "http", "prod", 1500, HttpEvent("GET", "/", b"q=1", [], {}, b"")
    )


async def test_invocations_sent_in_one_pass_go_out_in_one_write() -> None:
    conn, _, transport = connection()
    loop = asyncio.get_running_loop()
    ids = [conn.send(loop.create_future(), invocation(), 1000) for _ in range(3)]
    await asyncio.sleep(0)
    (data,) = transport.written
    decode = msgspec.msgpack.Decoder(ToWorker).decode
    sent: list[Invoke] = []
    offset = 0
    while offset < len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        message = decode(data[offset + 4 : offset + 4 + size])
        assert isinstance(message, Invoke)
        sent.append(message)
        offset += 4 + size
    assert [message.id for message in sent] == ids


async def test_replies_split_and_merged_across_reads_resolve_their_futures() -> None:
    conn, owner, _ = connection()
    loop = asyncio.get_running_loop()
    futures: list[asyncio.Future[Outcome]] = [loop.create_future() for _ in range(3)]
    ids = [conn.send(f, invocation(), 1000) for f in futures]
    stream = b"".join(
        [
            bytes(frame(ENCODER, Hello(2))),
            bytes(frame(ENCODER, Reply(ids[1], 200, [(b"a", b"b")], b"one"))),
            bytes(frame(ENCODER, Failed(ids[0], "ValueError: x", "tb", stdout="out\n"))),
            bytes(frame(ENCODER, Reply(ids[2], 204, [], b""))),
        ]
    )
    for size in (1, 3, 7, len(stream)):  # byte by byte, ragged, all at once
        conn2, owner2, _ = connection()
        futures2: list[asyncio.Future[Outcome]] = [loop.create_future() for _ in range(3)]
        ids2 = [conn2.send(f, invocation(), 1000) for f in futures2]
        assert ids2 == ids
        for start in range(0, len(stream), size):
            conn2.data_received(stream[start : start + size])
        assert conn2.hello.result() == Hello(2)
        assert futures2[1].result() == Reply(ids[1], 200, [(b"a", b"b")], b"one")
        assert futures2[0].result() == Failed(ids[0], "ValueError: x", "tb", stdout="out\n")
        assert futures2[2].result() == Reply(ids[2], 204, [], b"")
        assert owner2.events == []
    assert owner.events == []


async def test_expired_invocation_fails_with_timeout_and_ignores_its_late_reply() -> None:
    conn, owner, _ = connection()
    future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    request_id = conn.send(future, invocation(), 1000)
    conn.expire(request_id)
    with pytest.raises(InvocationTimeout):
        future.result()
    conn.data_received(bytes(frame(ENCODER, Reply(request_id, 200, [], b""))))
    assert owner.events == ["expired"]


async def test_reply_for_a_cancelled_caller_frees_the_slot_late() -> None:
    conn, owner, _ = connection()
    future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
    request_id = conn.send(future, invocation(), 1000)
    future.cancel()
    conn.data_received(bytes(frame(ENCODER, Reply(request_id, 200, [], b""))))
    assert owner.events == ["late"]


async def test_garbage_and_oversized_frames_are_protocol_errors() -> None:
    conn, owner, _ = connection()
    conn.data_received(b"\x00\x00\x00\x02\xc1\xc1")
    conn2, owner2, _ = connection()
    conn2.data_received(b"\x7f\xff\xff\xff")
    assert owner.events[0].startswith("error: worker sent an undecodable frame")
    assert owner2.events[0].startswith("error: worker announced a")


def test_headers_are_case_insensitive_and_join_repeats() -> None:
    headers = Headers([(b"Content-Type", b"text/html"), (b"x-a", b"1"), (b"X-A", b"2")])
    assert headers["content-type"] == headers["CONTENT-TYPE"] == "text/html"
    assert headers["x-a"] == "1, 2"
    assert "X-a" in headers and "nope" not in headers
    assert 3 not in headers  # type: ignore[comparison-overlap]  # a non-str key is no header
    assert dict(headers) == {"content-type": "text/html", "x-a": "1, 2"}
    assert headers.get("missing") is None
    assert headers.raw[0] == (b"Content-Type", b"text/html")


def test_http_event_query_and_json() -> None:
    event = make_event(HttpEvent("POST", "/p", b"a=1&a=2&b=%C3%A9", [], {}, b'{"x": 1}'))
    assert isinstance(event, HttpRequestEvent)
    assert event.query == {"a": "1", "b": "é"}
    assert event.query_string == "a=1&a=2&b=%C3%A9"
    assert event.json() == {"x": 1}


def test_cloud_event_reads_as_mapping_and_attributes() -> None:
    event = make_event({"id": "1", "type": "t", "data": None})
    assert isinstance(event, CloudEvent)
    assert event.id == event["id"] == "1"
    with pytest.raises(AttributeError):
        _ = event.missing


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"status": 301, "headers": [("Location", "/x")]}, (301, [(b"location", b"/x")], b"")),
        (
            {"status": 200, "headers": {"Content-Type": "text/csv"}, "body": "a,b"},
            (200, [(b"content-type", b"text/csv")], b"a,b"),
        ),
        (
            {"status": 200, "body": b"\x00"},
            (200, [(b"content-type", b"application/octet-stream")], b"\x00"),
        ),
        (("a", 1), (200, [(b"content-type", b"application/json")], b'["a",1]')),
        ({"status": True}, (200, [(b"content-type", b"application/json")], b'{"status":true}')),
    ],
)
def test_response_mapping(value: object, expected: tuple[int, list[Any], bytes]) -> None:
    assert to_response(value) == expected


def test_awaitable_returned_by_a_sync_handler_is_explained() -> None:
    async def handler() -> None:
        pass

    coroutine = handler()
    with pytest.raises(TypeError, match="async def"):
        to_response(coroutine)
    coroutine.close()


def test_exit_descriptions(tmp_path: Any) -> None:
    plain = Sandbox(enabled=False, lib_dir=tmp_path)
    assert plain.describe_exit(3, "256Mi") == "worker exited with code 3"
    assert plain.describe_exit(-9, "256Mi") == "worker killed by SIGKILL"
    assert plain.describe_exit(86, "128Mi") == "memory limit (128Mi) exceeded"
    assert plain.describe_exit(137, "1Gi") == "worker exited with code 137"
    plain.enabled = True  # bwrap reports a child's death by signal N as 128 + N
    assert plain.describe_exit(137, "1Gi") == "worker killed by SIGKILL"
    assert plain.describe_exit(128 + 11, "1Gi") == "worker killed by SIGSEGV"


def test_sizes_are_spelled_like_the_config() -> None:
    assert format_bytes(256 * 1024 * 1024) == "256Mi"
    assert format_bytes(2 * 1024**3) == "2Gi"
    assert format_bytes(1536 * 1024) == "1536Ki"
    assert format_bytes(1000) == "1000B"


def test_line_splitter_reassembles_lines_and_bounds_partials() -> None:
    lines = LineSplitter()
    assert lines.feed(b"a\nb") == ["a"]
    assert lines.feed(b"c\n\n") == ["bc", ""]
    assert lines.flush() == []
    assert lines.feed(b"x" * (LineSplitter.MAX_LINE + 1)) == ["x" * (LineSplitter.MAX_LINE + 1)]
    assert lines.feed(b"tail") == []
    assert lines.flush() == ["tail"]
