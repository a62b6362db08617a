"""The "old API" every legacy test migrates: a small ASGI app on uvicorn, its own process.

    python -m tests.legacy.oldapi PORT [NAME]     # serves until SIGTERM

Routes (JSON unless said otherwise):

- `GET /items/{id}`: `{"id", "name", "uuid", "at"}`; `uuid` (random) and `at` (the
  time) differ on every call: the noise shadow comparison must learn.
- `GET /orders`: `{"orders": [...]}`, those created so far.
  `POST /orders`: a JSON object body becomes order `{"id": N, **body}`, answered 201.
- `/echo` and `/echo/...`, any method: what the app received, as
  `{"method", "path", "raw_path", "query", "http_version", "headers": [[name, value]...],
  "body_size", "body" (latin-1 text), "client"}`.
- `GET /stream?size=N[&chunk=K]`: N bytes, chunked (no Content-Length), in K-byte chunks
  (default 64 KiB); byte i is `i % 251`, so a reader can check every byte. A reader
  that leaves stops it, and counts in `/stats` as `streams_cut`.
- `POST /upload`: reads the body as it streams and answers `{"bytes", "sha256",
  "chunked"}` (chunked: whether it came with Transfer-Encoding).
- `GET /slow?s=N`: answers `{"slept": N}` after N seconds (fractions allowed).
- `/fail?status=N`: answers status N (default 500) with `{"error": "failing on purpose"}`.
- `POST /admin/failing?status=N`: from now on every route but /admin/* answers N;
  `DELETE /admin/failing` stops that.
- `GET /stats`: `{"requests", "connections", "streams_cut"}`: requests served, the TCP
  connections they came on (distinct client ports), for the keep-alive tests, and the
  /stream answers whose reader left before their end.
- `GET /hello`: `hello` in text/plain, the cheapest answer, for benchmarks.
- anything else: 404 `{"error": "not found", "path": ...}`.

Every JSON answer carries `x-old-api: NAME` (the second argument, default `old`), so a
test with several old APIs sees which one answered.

`OldApi` starts it on a free port for a test and waits until it answers, with a deadline.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

from tests.brokers.process import ServerProcess
from tests.integration.harness import free_port, wait_for

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STREAM_CHUNK = 64 * 1024
NAME = [b"old"]


def pattern(size: int, start: int = 0) -> bytes:
    """Bytes `start` to `start + size` of the /stream body."""
    return bytes((start + i) % 251 for i in range(size))


class App:
    def __init__(self) -> None:
        self.orders: list[dict[str, Any]] = []
        self.requests = 0
        self.connections: set[tuple[str, int]] = set()
        self.failing: int | None = None
        self.streams_cut = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                pass
            return
        self.requests += 1
        if scope.get("client"):
            self.connections.add(tuple(scope["client"]))
        path: str = scope["path"]
        method: str = scope["method"]
        query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode()).items()}
        if self.failing is not None and not path.startswith("/admin/"):
            await answer(send, self.failing, {"error": "failing on purpose"})
        elif path == "/echo" or path.startswith("/echo/"):
            await self.echo(scope, receive, send)
        elif path.startswith("/items/") and method in ("GET", "HEAD"):
            item_id = path.removeprefix("/items/")
            await answer(
                send,
                200,
                {"id": item_id, "name": f"item {item_id}", "uuid": str(uuid.uuid4()), "at": now()},
            )
        elif path == "/orders" and method == "GET":
            await answer(send, 200, {"orders": self.orders})
        elif path == "/orders" and method == "POST":
            order = json.loads(await read_all(receive) or b"{}")
            self.orders.append({"id": len(self.orders) + 1, **order})
            await answer(send, 201, self.orders[-1])
        elif path == "/stream":
            size, chunk = int(query.get("size", "0")), int(query.get("chunk", STREAM_CHUNK))
            if not await stream(receive, send, size, chunk):
                self.streams_cut += 1
        elif path == "/upload" and method == "POST":
            await upload(scope, receive, send)
        elif path == "/slow":
            seconds = float(query.get("s", "1"))
            await asyncio.sleep(seconds)
            await answer(send, 200, {"slept": seconds})
        elif path == "/fail":
            await answer(send, int(query.get("status", "500")), {"error": "failing on purpose"})
        elif path == "/admin/failing":
            self.failing = int(query.get("status", "500")) if method == "POST" else None
            await answer(send, 200, {"failing": self.failing})
        elif path == "/stats":
            stats = {
                "requests": self.requests,
                "connections": len(self.connections),
                "streams_cut": self.streams_cut,
            }
            await answer(send, 200, stats)
        elif path == "/hello":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", b"5")],
                }
            )
            await send({"type": "http.response.body", "body": b"hello"})
        else:
            await answer(send, 404, {"error": "not found", "path": path})

    async def echo(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await read_all(receive)
        headers = scope["headers"]
        await answer(
            send,
            200,
            {
                "method": scope["method"],
                "path": scope["path"],
                "raw_path": (scope.get("raw_path") or b"").decode("latin-1"),
                "query": scope["query_string"].decode("latin-1"),
                "http_version": scope["http_version"],
                "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in headers],
                "body_size": len(body),
                "body": body.decode("latin-1"),
                "client": list(scope["client"]) if scope.get("client") else None,
            },
        )


def now() -> float:
    return time.time() + random.random() / 1000


async def read_all(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def answer(send: Send, status: int, document: object) -> None:
    body = json.dumps(document).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"x-old-api", NAME[0]),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def stream(receive: Receive, send: Send, size: int, chunk: int) -> bool:
    """Send the /stream body; False when the reader left before its end."""
    # uvicorn drops what is sent to a client that left: only `receive` tells.
    gone = asyncio.ensure_future(disconnected(receive))
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/octet-stream")],
        }
    )
    # The pattern repeats every 251 bytes: a chunk starting at offset 0 mod 251 is reused.
    period = chunk - chunk % 251 or 251
    block = pattern(period)
    sent = 0
    while sent < size:
        if gone.done():
            return False
        piece = block[: min(period, size - sent)]
        await send({"type": "http.response.body", "body": piece, "more_body": True})
        sent += len(piece)
    gone.cancel()
    await send({"type": "http.response.body", "body": b""})
    return True


async def disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def upload(scope: Scope, receive: Receive, send: Send) -> None:
    digest = hashlib.sha256()
    size = 0
    while True:
        message = await receive()
        data = message.get("body", b"")
        size += len(data)
        digest.update(data)
        if not message.get("more_body", False):
            break
    chunked = any(n == b"transfer-encoding" and b"chunked" in v for n, v in scope["headers"])
    await answer(send, 200, {"bytes": size, "sha256": digest.hexdigest(), "chunked": chunked})


app = App()


class OldApi(ServerProcess):
    """The old API on a port of its own; `restart()` brings it back on the same port."""

    name = "old API"

    def __init__(self, workdir: Path, name: str = "old") -> None:
        super().__init__(workdir / f"oldapi-{name}.log")
        self.api_name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> OldApi:
        self.launch(
            [sys.executable, "-m", "tests.legacy.oldapi", str(self.port), self.api_name],
            ready="oldapi ready",
            stdout_to_log=True,
        )
        # The log line comes just before uvicorn listens: wait until it answers.
        wait_for(
            lambda: httpx.get(f"{self.url}/stats", timeout=1).status_code == 200,
            timeout=20,
            what=f"the old API on {self.url}",
        )
        return self

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def restart(self) -> OldApi:
        self.stop()
        return self.start()

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = httpx.get(f"{self.url}/stats", timeout=5).json()
        return stats


def main(port: int, name: str) -> None:
    import uvicorn

    NAME[0] = name.encode()
    print("oldapi ready", flush=True)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        access_log=False,
        # The peer's own address, not X-Forwarded-For: /stats counts connections by it.
        proxy_headers=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else "old")
