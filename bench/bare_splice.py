"""The floor of a Python HTTP proxy on this machine: asyncio (uvloop) and httptools,
splicing each client connection to one keep-alive connection of its own to the old API,
with none of gaia's work (no routing tables, header rules, X-Forwarded-*, request ids,
access log, discovery, evidence, timeouts or back-pressure).

    python -m bench.bare_splice PORT UPSTREAM_PORT [--processes N]

The request head and the answer are parsed (a proxy must know where a message ends to
keep a pooled connection and to route by path) and their bytes passed on as they are.
With `--processes N`, N processes share PORT through SO_REUSEPORT, as N data-plane
processes of a gateway would; this one waits for them.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import cast

import httptools
import uvloop


class Upstream(asyncio.Protocol):
    """The old API's side of one spliced pair."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = written = cast(asyncio.Transport, transport)  # uvloop's: no subclass
        for chunk in self.client.waiting:
            written.write(chunk)
        self.client.waiting.clear()

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)
        self.client.transport.write(data)

    def on_message_complete(self) -> None:
        self.client.answers += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.client.transport.close()


class Client(asyncio.Protocol):
    """A client connection, its requests passed to its own upstream connection."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.parser = httptools.HttpRequestParser(self)
        self.upstream: Upstream | None = None
        self.waiting: list[bytes] = []
        self.url = b""
        self.answers = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.upstream = Upstream(self)
        loop = asyncio.get_running_loop()
        upstream = self.upstream
        # Kept, so that the task is not collected before it connects.
        self.connecting = loop.create_task(
            loop.create_connection(lambda: upstream, "127.0.0.1", self.upstream_port)
        )

    def on_url(self, url: bytes) -> None:
        self.url = url  # what a router would route by

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)
        upstream = self.upstream
        if upstream is not None and upstream.transport is not None:
            upstream.transport.write(data)
        else:
            self.waiting.append(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.upstream is not None and self.upstream.transport is not None:
            self.upstream.transport.close()


async def serve(port: int, upstream_port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: Client(upstream_port), "127.0.0.1", port, reuse_port=True, backlog=4096
    )
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    async with server:
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_splice")
    parser.add_argument("port", type=int)
    parser.add_argument("upstream_port", type=int)
    parser.add_argument("--processes", type=int, default=1)
    args = parser.parse_args(argv)
    if args.processes == 1:
        uvloop.run(serve(args.port, args.upstream_port))
        return 0
    one = [sys.executable, "-m", "bench.bare_splice", str(args.port), str(args.upstream_port)]
    children = [subprocess.Popen(one) for _ in range(args.processes)]

    def stop(signum: int, frame: object) -> None:
        for child in children:
            child.terminate()

    signal.signal(signal.SIGTERM, stop)
    for child in children:
        child.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
