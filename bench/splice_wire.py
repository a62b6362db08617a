"""What the socket-free splice benchmarks (bench.splice_cost, bench.splice_instructions)
feed the gateway and write through: the client's request bytes and a transport that
only counts what is written."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Sequence
from typing import Any

from gateway.accesslog import JsonLines

REQUEST = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n"


class Transport:
    """Counts writes; everything else a transport is asked is answered as for a socket."""

    def __init__(self) -> None:
        self.writes = 0
        self.closing = False

    def write(self, data: bytes) -> None:
        self.writes += 1

    def writelines(self, data: Sequence[bytes]) -> None:
        self.writes += 1

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        return None

    def resume_reading(self) -> None:
        return None


class Fed:
    """A state's gateway side, fed requests on demand: `protocol` gets the client's
    bytes, `upstream` (the kept connection the request is spliced to) its answer."""

    protocol: asyncio.Protocol
    upstream: asyncio.Protocol
    answer: bytes
    client_side: Transport
    log: io.BytesIO
    access_log: JsonLines

    def one(self, _: object = None) -> None:
        self.protocol.data_received(REQUEST)
        self.upstream.data_received(self.answer)

    def run(self, requests: int) -> float:
        """CPU µs per request over `requests` requests."""
        one = self.one
        written = self.client_side.writes
        started = time.process_time()
        for _ in range(requests):
            one()
        used = time.process_time() - started
        if self.client_side.writes - written < requests:
            raise AssertionError(f"fewer answers than the {requests} requests")
        self.access_log.flush()
        self.log.seek(0)
        self.log.truncate()
        return used / requests * 1e6

    async def aclose(self) -> None:
        return None
