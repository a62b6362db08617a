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

`function` and `container` (bench/splice_functions.py): an HTTP trigger's request spliced
to a leased instance, an `interface: asgi` worker's server or a container instance; the
control plane, invoker, data plane, pool, lease and access log are the gateway's own.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import uvicorn
import uvloop
from uvicorn.server import ServerState

from bench.common import machine
from bench.splice_functions import FUNCTION_STATES, FunctionSetup
from bench.splice_wire import Fed, Transport
from gateway.accesslog import JsonLines
from gateway.dataplane import DataPlane
from gateway.http.limits import HttpCounters, HttpLimits
from gateway.http.protocol import GuardedHttpTools
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from gateway.snapshot import Snapshot
from httpkit.client import Connection, Origin
from legacy.config import LegacyConfig
from legacy.discovery.table import DiscoveryTable
from legacy.evidence import EvidenceBook
from legacy.handover import TrackedProxy
from legacy.ports import FunctionAnswer, ProxiedRequest
from legacy.proxy import LegacyProxy, build_proxy
from legacy.router import LegacyRouter
from legacy.shadow import ShadowPool

STATES = ("none", "legacy", "shadow", *FUNCTION_STATES)
UPSTREAM = "http://127.0.0.1:9"
ANSWER = (
    b"HTTP/1.1 200 OK\r\ndate: Sun, 29 Nov 2026 12:00:00 GMT\r\nserver: uvicorn\r\n"
    b"content-type: text/plain\r\ncontent-length: 5\r\n\r\nhello"
)


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


class Control:
    """No functions, no routes: every request is the fallback's."""

    snapshot = Snapshot()


class Setup(Fed):
    """One legacy state's data plane, router and connections, fed requests on demand."""

    answer = ANSWER

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
        control: Any = Control()
        data_plane = DataPlane(
            control=control,
            invoker=Invoker(control=control, metrics=Metrics()),
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

    async def aclose(self) -> None:
        await self.shadow.aclose()


async def setup_for(state: str) -> Fed:
    """The gateway side of `state`, ready to be fed."""
    if state in FUNCTION_STATES:
        return await FunctionSetup.build(state)
    return Setup(state)


async def costs(*, requests: int, repeat: int) -> dict[str, list[float]]:
    """CPU µs per request for each state, rounds alternating over the states."""
    setups = {state: await setup_for(state) for state in STATES}
    for setup in setups.values():
        setup.run(requests // 10)  # warm-up
    rounds: dict[str, list[float]] = {state: [] for state in STATES}
    for _ in range(repeat):
        for state, setup in setups.items():
            rounds[state].append(setup.run(requests))
    for setup in setups.values():
        await setup.aclose()
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
