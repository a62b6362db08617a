"""Machine instructions per spliced request, by callgrind: bench.splice_cost's work, counted
rather than timed.

    python -m bench.splice_instructions [--state legacy] [--requests 2000]

`bench.splice_cost` times the per-request Python in CPU seconds, which a shared VM moves
by 10-30% between runs of the same code. Here the same setup (the real protocol, data
plane, legacy router, proxy, discovery and access log, fed one request's bytes and the
old API's answer in turn) runs under valgrind's callgrind, counting only the
instructions executed inside the timed requests (`--toggle-collect` on `map_next`: the
requests are driven by `map`, nothing else in the process is), so a change's effect
reads the same however busy the machine is (repeated runs agree within 0.5%). Python's
start-up and the warm-up run uninstrumented; a run takes under a minute. Needs valgrind (Debian's
`valgrind`).

`--state function` and `--state container` count an HTTP trigger's request spliced to a
leased instance (an `interface: asgi` worker's server, a container instance), the
gateway's own parts all real (bench/splice_functions.py); bench.splice_profile says
where such a request's Python goes, by module and function.

`--state machinery` counts the splice machinery alone (gateway/http/protocol.py,
exchange.py and httpkit's client) under a splicer that decides nothing: one constant
splice, no records.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

import uvicorn
import uvloop
from uvicorn.server import ServerState

from bench.splice_cost import ANSWER, STATES, setup_for
from bench.splice_wire import REQUEST, Transport
from gateway.http.limits import HttpCounters, HttpLimits
from gateway.http.protocol import GuardedHttpTools
from gateway.http.splice import Failure, Headers, RequestHead, Splice, SpliceOutcome, Splicer
from httpkit.client import ClientError, Connection, HttpClient, Origin

MACHINERY = "machinery"
_WARM_UP = 2000


class _Constant(Splice):
    """One splice for every request: the old API's origin, its target and Host."""

    def __init__(self, client: HttpClient, origin: Origin) -> None:
        self.client = client
        self.origin = origin
        self.target = b"/hello"
        self.headers = [(b"host", origin.authority)]
        self.capture_limit = 0
        self.deadline_s = None

    def response_headers(self, status: int, headers: Headers) -> Headers:
        return headers

    def failure(self, error: ClientError) -> Failure:
        return Failure(status=502, error=error.reason, message=error.message)

    def reroute(self, error: ClientError) -> bool:
        return False

    def finished(self, outcome: SpliceOutcome) -> None:
        return None


class _Splicer(Splicer):
    def __init__(self, splice: _Constant) -> None:
        self._splice = splice

    def splice(self, head: RequestHead) -> _Constant:
        return self._splice

    def spliced(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        return None

    def error_answer(self, error: str, message: str, request_id: str) -> tuple[Headers, bytes]:
        return [], b""


async def _no_app(scope: object, receive: object, send: object) -> None:
    raise AssertionError("every request is spliced")


def _machinery() -> Callable[[int], None]:
    """One request through the machinery alone, under a splicer that decides nothing."""
    client = HttpClient(connect_timeout_s=5, read_timeout_s=30)
    origin = Origin.from_url("http://127.0.0.1:9")
    http = GuardedHttpTools.configured(
        HttpLimits(), HttpCounters(), _Splicer(_Constant(client, origin))
    )
    config = uvicorn.Config(_no_app, lifespan="off", log_config=None)
    protocol = http(config=config, server_state=ServerState(), app_state={})
    protocol.connection_made(Transport())  # type: ignore[arg-type]
    # A kept connection to the old API, answering through a counting transport.
    upstream = Connection(client, origin)
    upstream.connection_made(Transport())  # type: ignore[arg-type]
    client.keep(upstream)

    def one(_: int) -> None:
        protocol.data_received(REQUEST)
        upstream.data_received(ANSWER)

    return one


async def _counted(state: str, requests: int) -> None:
    """Under callgrind: the warm-up uncounted, then `requests` requests inside `map`."""
    one = _machinery() if state == MACHINERY else (await setup_for(state)).one

    for number in range(_WARM_UP):
        one(number)
    # Instrumentation on only now (start-up ran at valgrind's plain speed): callgrind
    # takes the command while this process waits for callgrind_control.
    subprocess.run(["callgrind_control", "--instr=on", str(os.getpid())], check=True)  # noqa: ASYNC221
    list(map(one, range(requests)))


def count(state: str, requests: int) -> float:
    """Instructions per request for `state`, from a callgrind run of this module."""
    argv = ["--counted", "--state", state, "--requests", str(requests)]
    return callgrind_count("bench.splice_instructions", argv, requests, toggle="map_next")


def callgrind_count(module: str, argv: Sequence[str], requests: int, *, toggle: str) -> float:
    """Instructions per request of `python -m module *argv` under callgrind, counting
    only inside the C function `toggle` once the module has turned instrumentation on
    (callgrind_control --instr=on after its warm-up)."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        subprocess.run(
            [
                valgrind,
                "--tool=callgrind",
                "--instr-atstart=no",
                f"--toggle-collect={toggle}",
                f"--callgrind-out-file={out}",
                sys.executable,
                "-m",
                module,
                *argv,
            ],
            check=True,
            capture_output=True,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
        totals = [
            int(line.split()[1])
            for line in out.read_text().splitlines()
            if line.startswith(("totals:", "summary:"))
        ]
    return max(totals) / requests


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.splice_instructions",
        description="Machine instructions per spliced request, counted by callgrind.",
    )
    parser.add_argument("--state", choices=[*STATES, MACHINERY], default="legacy")
    parser.add_argument("--requests", type=int, default=2000, help="requests counted")
    parser.add_argument("--counted", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.requests < 100:
        parser.error("--requests must be at least 100")
    if args.counted:
        uvloop.run(_counted(args.state, args.requests))
        return 0
    per_request = count(args.state, args.requests)
    print(f"{args.state}: {per_request:,.0f} instructions per request ({args.requests} counted)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
