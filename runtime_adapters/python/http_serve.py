"""An `interface: asgi` worker's own HTTP/1.1 server, for the requests the gateway passes
straight to it (runtime_adapters/python/lease.py) instead of invoking it.

The listening socket is the gateway's: bound on the host in the runtime's private slots
dir and inherited by the sandboxed worker as a file descriptor, so the worker needs no
network namespace and no writable path to serve it. Each connection is uvicorn's
httptools protocol running the app on the worker's event loop, beside the frames of
invoked requests, so a request reaches the app as it would on bare uvicorn (no
`--root-path`, no proxy headers), the lifespan's state included. `client` and `server`
stay None as on the invoked path: the peer and the socket's host path are the gateway's.
`scope["gaia.context"]` is the invocation's `context`, from the request id and alias the
gateway appends in X-Gaia-Context (the app never sees that header: only the gateway's
own, the last of that name, is taken out; a client's passes as it came).

Imported only when an ASGI app is loaded: a stem cell never pays for uvicorn.
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from runtime_adapters.python.events import Context

CONTEXT_HEADER = b"x-gaia-context"


class Invocations:
    """What each request's `context` says beside its own id and alias."""

    __slots__ = ("function", "revision", "timeout_s")

    def __init__(self, function: str, revision: int, timeout_s: float) -> None:
        self.function = function
        self.revision = revision
        self.timeout_s = timeout_s


class _Protocol(HttpToolsProtocol):
    invocations: Invocations

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.server = None
        self.client = None

    def on_headers_complete(self) -> None:
        # The scope is the cycle's and its task has not run yet: adding to it now is
        # what the app sees. The gateway's header is last, or just before the framing.
        headers = self.headers
        said = b""
        for index in (-1, -2):
            if len(headers) >= -index and headers[index][0] == CONTEXT_HEADER:
                said = headers.pop(index)[1]
                break
        super().on_headers_complete()
        request_id, _, alias = said.decode("latin-1").partition(" ")
        meta = self.invocations
        self.scope["gaia.context"] = Context(  # type: ignore[typeddict-unknown-key]
            meta.function,
            meta.revision,
            alias,
            request_id,
            "http",
            time.monotonic() + meta.timeout_s,
        )


async def serve_http(
    app: Any,
    state: dict[str, Any],
    listener: socket.socket,
    *,
    invocations: Invocations,
    keep_alive_s: float,
) -> asyncio.AbstractServer:
    """Serve `app` on the inherited `listener` from the running loop; `state` is the
    lifespan's, copied into each request's scope as uvicorn does."""
    config = Config(
        app,
        http="httptools",
        ws="none",
        lifespan="off",
        interface="asgi3",
        proxy_headers=False,
        server_header=False,
        date_header=False,
        access_log=False,
        log_config=None,
        timeout_keep_alive=int(keep_alive_s),
    )
    config.load()
    loop = asyncio.get_running_loop()
    server_state = ServerState()

    def connection() -> _Protocol:
        protocol = _Protocol(config, server_state, state, loop)
        protocol.invocations = invocations
        return protocol

    return await loop.create_unix_server(connection, sock=listener)
