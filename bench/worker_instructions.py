"""Machine instructions per request of an `interface: asgi` worker's own HTTP server
beside bare uvicorn's, serving bench.asgi_app's app to a kept connection, by callgrind.

    python -m bench.worker_instructions [--requests 2000]

bench.asgi_app times the worker process and bare uvicorn in CPU seconds, which a
shared VM moves by 10-30% between runs. Here each side runs in one process under
valgrind's callgrind on uvloop: the app (bench/apps/asgi_hello, its lifespan started)
served from a listening unix socket to one kept connection whose client end this
process drives itself, a request written and its whole answer read at a time.

- `gaia`: the worker's server as worker.py starts it (http_serve.serve_http), fed the
  head the gateway writes it (X-Gaia-Context included);
- `uvicorn`: uvicorn's HttpToolsProtocol as bare `uvicorn --http httptools` builds it
  (lifespan state, its Date and Server headers), fed the client's head;
- `floor`: a protocol answering the same bytes without HTTP or an app: the socket
  round trip and the client's own part, which both sides above include.

Only the instructions inside the timed requests count (`--toggle-collect` on
`starmap_next`: the requests are driven by `itertools.starmap`, which neither side's
code calls), so repeated runs agree within 0.5% however busy the machine is. Needs
valgrind (Debian's `valgrind`).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import itertools
import os
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from email.utils import formatdate
from typing import Any, cast

import uvicorn
import uvloop
from uvicorn.lifespan.on import LifespanOn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from bench.asgi_app import APP_DIR
from bench.splice_instructions import callgrind_count
from bench.splice_wire import REQUEST
from runtime_adapters.python.asgi import AsgiApp
from runtime_adapters.python.http_serve import Invocations, serve_http

SIDES = ("gaia", "uvicorn", "floor")
# What the gateway writes the worker for wrk's `GET /hello` (bench.splice_functions).
GATEWAY_REQUEST = (
    b"GET /hello HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nuser-agent: wrk\r\n"
    b"x-gaia-context: 07b38ca900000001 default\r\n\r\n"
)
FLOOR_ANSWER = b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello"
_WARM_UP = 2000


def _app() -> Any:
    spec = importlib.util.spec_from_file_location("asgi_hello", APP_DIR / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.app


class _Floor(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.transport.write(FLOOR_ANSWER)


async def _serve(side: str, path: str) -> bytes:
    """Start `side`'s server on a unix socket at `path`; the request it is fed."""
    loop = asyncio.get_running_loop()
    if side == "floor":
        await loop.create_unix_server(_Floor, path)
        return REQUEST
    if side == "gaia":
        app = AsgiApp(_app())
        await app.startup()
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(64)
        invocations = Invocations("hello", 1, 30.0)
        await serve_http(app.app, app.state, listener, invocations=invocations, keep_alive_s=5.0)
        return GATEWAY_REQUEST
    # As `uvicorn main:app --http httptools --no-access-log` starts it.
    config = uvicorn.Config(_app(), http="httptools", access_log=False, log_level="warning")
    config.load()
    lifespan = LifespanOn(config)
    await lifespan.startup()
    state = ServerState()
    state.default_headers = [
        (b"date", formatdate(usegmt=True).encode()),
        *config.encoded_headers,
    ]
    await loop.create_unix_server(
        lambda: HttpToolsProtocol(config, state, lifespan.state, loop), path
    )
    return REQUEST


async def _client(path: str, request: bytes) -> Callable[[int], Any]:
    """A kept connection to the server at `path`: a coroutine function sending
    `requests` requests in turn, each read whole (every answer ends with `hello`)."""
    loop = asyncio.get_running_loop()
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.setblocking(False)
    await loop.sock_connect(client, path)

    async def requests(count: int) -> None:
        for _ in range(count):
            client.send(request)
            answer = await loop.sock_recv(client, 65536)
            while not answer.endswith(b"hello"):
                answer += await loop.sock_recv(client, 65536)
            if not answer.startswith(b"HTTP/1.1 200 "):
                raise AssertionError(f"unexpected answer {answer!r}")

    return requests


def _counted(side: str, count: int) -> None:
    """Under callgrind: the warm-up uncounted, then `count` requests inside `starmap`."""
    loop = uvloop.new_event_loop()
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory(prefix="gaia-worker-bench-") as scratch:
        path = os.path.join(scratch, "http.sock")
        request = loop.run_until_complete(_serve(side, path))
        requests = loop.run_until_complete(_client(path, request))
        loop.run_until_complete(requests(_WARM_UP))
        subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True)
        list(itertools.starmap(loop.run_until_complete, [(requests(count),)]))
    # Callgrind writes its counts as the process exits; what is still pending (the
    # lifespan, the servers) need not be torn down first.
    os._exit(0)


def count(side: str, requests: int) -> float:
    """Instructions per request for `side`, from a callgrind run of this module."""
    argv = ["--counted", "--side", side, "--requests", str(requests)]
    return callgrind_count("bench.worker_instructions", argv, requests, toggle="starmap_next")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.worker_instructions",
        description="Instructions per request: an ASGI worker's server beside bare uvicorn.",
    )
    parser.add_argument("--requests", type=int, default=2000, help="requests counted")
    parser.add_argument("--side", choices=SIDES, help="count one side only")
    parser.add_argument("--counted", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.requests < 100:
        parser.error("--requests must be at least 100")
    if args.counted:
        _counted(args.side, args.requests)
        return 0
    sides = [args.side] if args.side else list(SIDES)
    counts = {side: count(side, args.requests) for side in sides}
    for side, per_request in counts.items():
        print(f"{side}: {per_request:,.0f} instructions per request ({args.requests} counted)")
    if "gaia" in counts and "uvicorn" in counts:
        gaia, bare = counts["gaia"], counts["uvicorn"]
        print(f"gaia / uvicorn: {gaia / bare:.3f}")
        if "floor" in counts:
            floor = counts["floor"]
            print(f"above the floor: {(gaia - floor) / (bare - floor):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
