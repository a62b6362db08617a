"""The Python cost of one spliced request, without sockets, per ledger state.

    python -m bench.splice_cost [--requests 20000] [--repeat 9]

The data plane's real protocol, data plane, legacy router, proxy, discovery and access
log (to memory) are fed one request's bytes, and a pooled upstream connection the old
API's answer, in turn; the transports only count what is written. So what is timed is
the process's own work for one proxied request, CPU time (time.process_time) per
request, with none of the socket calls and no other process: less affected by a busy
machine than requests/s, and the same in every state but for what the state adds.

States: `none` (no ledger route: discovery), `legacy` and `shadow` (a ledger route for
the path). In `shadow` the answer is captured and the copy offered, as a client's
request does; the copies never run while timed (the event loop does not turn), so the
queue fills and later ones are counted as dropped: the timing is the client's path up
to the offer, not the copy's own work (a function invocation), which
`python -m bench.legacy_proxy --shadow` measures with the rest.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn
import uvloop
from uvicorn.server import ServerState

from bench.common import machine
from gateway.accesslog import JsonLines
from gateway.dataplane import DataPlane
from gateway.http.limits import HttpCounters, HttpLimits
from gateway.http.protocol import GuardedHttpTools
from httpkit.client import Connection, Origin
from legacy.config import LegacyConfig
from legacy.discovery.table import DiscoveryTable
from legacy.evidence import EvidenceBook
from legacy.handover import TrackedProxy
from legacy.ports import FunctionAnswer, ProxiedRequest
from legacy.proxy import LegacyProxy, build_proxy
from legacy.router import LegacyRouter
from legacy.shadow import ShadowPool
from routing.routes import RouteTable

STATES = ("none", "legacy", "shadow")
UPSTREAM = "http://127.0.0.1:9"
REQUEST = b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: wrk\r\n\r\n"
ANSWER = (
    b"HTTP/1.1 200 OK\r\ndate: Sun, 29 Nov 2026 12:00:00 GMT\r\nserver: uvicorn\r\n"
    b"content-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"
)


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


class NoFunctions:
    """The copies never run while timed; nothing is asked of a function."""

    def sticky_key(self, target: str, request: ProxiedRequest) -> str | None:
        return None

    async def call(
        self,
        target: str,
        request: ProxiedRequest,
        body: bytes,
        *,
        params: Mapping[str, str] | None = None,
    ) -> FunctionAnswer:
        raise AssertionError("no copy runs while timed")


class Snapshot:
    routes = RouteTable(())


class Control:
    snapshot = Snapshot()


class Setup:
    """One state's data plane, router and connections, fed requests on demand."""

    def __init__(self, state: str) -> None:
        routes = (
            [] if state == "none" else [{"path": "/hello", "function": "hello", "state": state}]
        )
        config = LegacyConfig.model_validate({"upstream": UPSTREAM, "routes": routes})
        inner = build_proxy(config)
        proxy = TrackedProxy(inner)
        functions = NoFunctions()
        self.shadow = ShadowPool(settings=config.shadow, proxy=proxy, functions=functions)
        router = LegacyRouter(
            config=config,
            proxy=proxy,
            functions=functions,
            book=EvidenceBook(DiscoveryTable()),
            shadow=self.shadow,
            body_limit=1 << 20,
        )
        self.log = io.BytesIO()
        self.access_log = JsonLines(self.log)
        data_plane = DataPlane(
            control=Control(),  # type: ignore[arg-type]
            invoker=None,  # type: ignore[arg-type]
            access_log=self.access_log,
            fallback=router,
        )
        protocol_class = GuardedHttpTools.configured(HttpLimits(), HttpCounters(), data_plane)
        uvicorn_config = uvicorn.Config(data_plane, lifespan="off", log_config=None)
        self.protocol = protocol_class(
            config=uvicorn_config, server_state=ServerState(), app_state={}
        )
        self.client_side = Transport()
        self.protocol.connection_made(self.client_side)  # type: ignore[arg-type]
        self.upstream = upstream_connection(inner, UPSTREAM)

    def run(self, requests: int) -> float:
        """CPU µs per request over `requests` requests."""
        protocol, upstream = self.protocol, self.upstream
        written = self.client_side.writes
        started = time.process_time()
        for _ in range(requests):
            protocol.data_received(REQUEST)
            upstream.data_received(ANSWER)
        used = time.process_time() - started
        if self.client_side.writes - written < requests:
            raise AssertionError(f"fewer answers than the {requests} requests")
        self.access_log.flush()
        self.log.seek(0)
        self.log.truncate()
        return used / requests * 1e6


async def costs(*, requests: int, repeat: int) -> dict[str, list[float]]:
    """CPU µs per request for each state, rounds alternating over the states."""
    setups = {state: Setup(state) for state in STATES}
    for setup in setups.values():
        setup.run(requests // 10)  # warm-up
    rounds: dict[str, list[float]] = {state: [] for state in STATES}
    for _ in range(repeat):
        for state, setup in setups.items():
            rounds[state].append(setup.run(requests))
    for setup in setups.values():
        await setup.shadow.aclose()
    return rounds


def upstream_connection(proxy: LegacyProxy, url: str) -> Connection:
    """One kept connection to the old API, answering through a counting transport."""
    connection = Connection(proxy.client, Origin.from_url(url))
    connection.connection_made(Transport())  # type: ignore[arg-type]
    proxy.client.keep(connection)
    return connection


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.splice_cost",
        description="The Python cost of one spliced request, without sockets, per state.",
    )
    parser.add_argument("--requests", type=int, default=20000, help="requests per round")
    parser.add_argument(
        "--repeat", type=int, default=9, help="rounds per state, alternating over the states"
    )
    args = parser.parse_args(argv)
    if args.requests < 100 or args.repeat < 1:
        parser.error("--requests must be at least 100 and --repeat at least 1")
    figures = uvloop.run(costs(requests=args.requests, repeat=args.repeat))
    print("| state | CPU µs/request (median) | min | max | vs legacy (median of rounds) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for state, rounds in figures.items():
        median = statistics.median(rounds)
        # Each round's ratio to the legacy round beside it: the load changes less between
        # neighbouring rounds than over the whole run.
        paired = statistics.median(
            mine / theirs for mine, theirs in zip(rounds, figures["legacy"], strict=True)
        )
        print(f"| {state} | {median:.1f} | {min(rounds):.1f} | {max(rounds):.1f} | {paired:.2f} |")
    print(
        f"\n- Command: `python -m bench.splice_cost --requests {args.requests}"
        f" --repeat {args.repeat}`; {machine()}."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
