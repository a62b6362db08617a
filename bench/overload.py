"""Overload benchmark: does the gateway keep serving at 500 connections, and against
slow clients? Bare uvicorn beside it.

    python -m bench.overload [--duration 10] [--repeat 3] [--slow 1000] [--pin]

In one run, with default settings on both sides:

1. goodput (2xx responses/s) at 32 and at 500 connections (`wrk -t1 -cN --latency`):
   a bare Starlette app on uvicorn (bench/bare_app.py) and `gaia up` serving
   examples/hello (pool max 4 x concurrency 8: 32 slots, so at 500 connections about
   470 requests queue); runs alternate bare/gateway `--repeat` times after a warm-up;
   medians of requests/s, p50 and p99, sums of non-2xx responses and socket errors.
   Goodput is requests/s times the share of 2xx answers. The target: at 500 connections
   no non-2xx and a goodput at least 0.9x the goodput at 32.
2. slow clients: `--slow` connections each send half a request head and then nothing,
   while wrk measures goodput at 32 connections; then, once the gateway's header
   timeout (10 s) has passed since they connected, how many of them each server has
   closed. Bare uvicorn has no head timeout and closes none.

It prints progress, then a markdown table, the command line and the machine. Every
process it starts (and every descendant) is stopped on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import os
import select
import shlex
import socket
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.common import (
    LOAD_CPU,
    POLL_S,
    SERVER_CPU,
    Processes,
    WrkResult,
    command_line,
    machine,
    markdown_table,
    progress,
    run_script,
    run_wrk,
    sandbox,
    verdict,
    wrk_command,
)
from bench.hot_path import (
    GENERIC_URL,
    HELLO_PATH,
    WARMUP_S,
    bare_command,
    compare,
    start_bare,
    start_hello_gateway,
    warm_up,
)
from gateway.http.limits import HttpLimits

LOW, HIGH = 32, 500
# --pin: the servers on one CPU, the load generator on the other.
GOODPUT_RATIO_TARGET = 0.9
HEADER_TIMEOUT_S = HttpLimits.header_timeout_s
CLOSE_GRACE_S = 1.0
HALF_HEAD = b"GET /hello/slow HTTP/1.1\r\nHost: bench\r\nX-Half: "


def goodput(result: WrkResult) -> float:
    """2xx responses per second: requests/s times the share of 2xx answers."""
    if not result.requests:
        return 0.0
    return result.rps * (result.requests - result.non_2xx) / result.requests


# --- slow clients -----------------------------------------------------------------------


def open_half_heads(port: int, count: int) -> list[socket.socket]:
    """`count` connections that each send half a request head, then nothing."""
    held = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(HALF_HEAD)
        sock.setblocking(False)
        held.append(sock)
    return held


def closed_by_server(held: Sequence[socket.socket]) -> int:
    """How many of `held` the server has answered or closed (readable: data or EOF)."""
    closed = 0
    for start in range(0, len(held), 512):  # select() takes at most 1024 descriptors
        readable, _, _ = select.select(held[start : start + 512], [], [], 0)
        closed += len(readable)
    return closed


@dataclass(frozen=True)
class SlowClients:
    under_load: WrkResult
    closed: int


def slow_clients(url: str, *, count: int, duration_s: int) -> SlowClients:
    port = urlsplit(url).port
    assert port is not None
    held = open_half_heads(port, count)
    deadline = time.monotonic() + HEADER_TIMEOUT_S + CLOSE_GRACE_S
    try:
        result = run_wrk(url, connections=LOW, duration_s=duration_s)
        closed = closed_by_server(held)
        while closed < count and time.monotonic() < deadline:
            time.sleep(POLL_S)
            closed = closed_by_server(held)
        return SlowClients(under_load=result, closed=closed)
    finally:
        for sock in held:
            sock.close()


# --- report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    low: dict[str, WrkResult]
    high: dict[str, WrkResult]
    slow: dict[str, SlowClients]


Row = tuple[str, str, str, str, str]


def row(metric: str, bare: str, gateway: str, goal: str = "", ok: bool = True) -> Row:
    return (metric, bare, gateway, goal or "-", verdict(ok) if goal else "-")


def load_rows(results: Results) -> list[Row]:
    rows = []
    ratios = {}
    for name in ("bare", "gateway"):
        ratios[name] = goodput(results.high[name]) / max(goodput(results.low[name]), 1e-9)
    for connections, runs in ((LOW, results.low), (HIGH, results.high)):
        bare, gw = runs["bare"], runs["gateway"]
        rows.append(row(f"goodput (2xx/s), {connections} connections", *_goodputs(bare, gw)))
        rows.append(
            row(
                f"non-2xx / socket errors, {connections} connections",
                f"{bare.non_2xx} / {bare.socket_errors}",
                f"{gw.non_2xx} / {gw.socket_errors}",
                "0 non-2xx" if connections == HIGH else "",
                gw.non_2xx == 0,
            )
        )
        for label, value in (("p50", "p50_ms"), ("p99", "p99_ms")):
            rows.append(
                row(
                    f"{label} latency, {connections} connections (ms)",
                    f"{getattr(bare, value):.2f}",
                    f"{getattr(gw, value):.2f}",
                )
            )
    rows.append(
        row(
            f"goodput ratio {HIGH} / {LOW} connections",
            f"{ratios['bare']:.2f}x",
            f"{ratios['gateway']:.2f}x",
            f"≥ {GOODPUT_RATIO_TARGET}x",
            ratios["gateway"] >= GOODPUT_RATIO_TARGET,
        )
    )
    return rows


def _goodputs(bare: WrkResult, gateway: WrkResult) -> tuple[str, str]:
    return f"{goodput(bare):,.0f}", f"{goodput(gateway):,.0f}"


def slow_rows(results: Results, count: int) -> list[Row]:
    bare, gw = results.slow["bare"], results.slow["gateway"]
    return [
        row(
            f"goodput (2xx/s), {LOW} connections, {count} half-head connections held",
            *_goodputs(bare.under_load, gw.under_load),
        ),
        row(
            f"half-head connections closed within {HEADER_TIMEOUT_S + CLOSE_GRACE_S:g} s",
            f"{bare.closed}/{count}",
            f"{gw.closed}/{count}",
            "gateway: all",
            gw.closed == count,
        ),
    ]


def report(results: Results, args: argparse.Namespace) -> str:
    header: Row = ("metric", "bare uvicorn", "gateway", "target", "met?")
    align = ("---", "---:", "---:", "---", "---")
    rows = load_rows(results) + (slow_rows(results, args.slow) if args.slow else [])
    notes = [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; worker sandbox: {sandbox()}.",
        f"Load: `{shlex.join(wrk_command(GENERIC_URL, HIGH, args.duration))}` (and `-c{LOW}`), "
        f"alternating bare/gateway, {args.repeat} run(s) each after a {WARMUP_S}s warm-up; "
        "medians of requests/s and latency, sums of errors; goodput = requests/s x 2xx share.",
        f"Bare: `{shlex.join(bare_command('PORT')).replace(sys.executable, 'python')}`; "
        "gateway: `python -m gateway up` serving examples/hello with default settings.",
    ]
    if args.pin:
        notes.append(
            f"Pinned: both servers and the gateway's workers on CPU {SERVER_CPU}, wrk and the"
            f" slow clients on CPU {LOAD_CPU}."
        )
    if args.slow:
        notes.append(
            f"Slow clients: {args.slow} connections each sent `{HALF_HEAD.decode()!r}` and "
            f"nothing more while wrk ran at {LOW} connections; closed = readable (an answer "
            f"or EOF) within {HEADER_TIMEOUT_S + CLOSE_GRACE_S:g} s of connecting."
        )
    table = markdown_table(header, align, rows)
    return table + "\n\n" + "\n".join(f"- {note}" for note in notes)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.overload",
        description="goodput at 32 and 500 connections and under slow clients, gaia beside "
        "bare uvicorn.",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per load")
    parser.add_argument(
        "--slow", type=int, default=1000, help="half-head connections (0: skip that scenario)"
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="servers (and the gateway's workers) on CPU 0, wrk and the slow clients on CPU 1,"
        " so the load generator's own cost at 500 connections takes no CPU from the servers",
    )
    args = parser.parse_args(argv)
    if args.duration < 1 or args.repeat < 1 or args.slow < 0:
        parser.error("--duration and --repeat must be at least 1, --slow at least 0")
    return args


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> Results:
    progress(f"starting the bare app and the gateway (logs in {workdir})")
    if args.pin:
        os.sched_setaffinity(0, {SERVER_CPU})  # inherited by the servers and their workers
    bare, bare_url = start_bare(procs, workdir)
    gateway = start_hello_gateway(procs, workdir, workdir / "home")
    if args.pin:
        os.sched_setaffinity(0, {LOAD_CPU})  # inherited by wrk
    urls: Mapping[str, str] = {"bare": bare_url, "gateway": gateway.url(HELLO_PATH)}
    progress(f"phase: warm-up, {min(WARMUP_S, args.duration)}s each")
    warm_up(urls, min(WARMUP_S, args.duration))
    progress(f"phase: {LOW} and {HIGH} connections, {args.duration}s x {args.repeat}")
    low = compare(urls, connections=LOW, duration_s=args.duration, repeat=args.repeat)
    high = compare(urls, connections=HIGH, duration_s=args.duration, repeat=args.repeat)
    slow: dict[str, SlowClients] = {}
    if args.slow:
        for name, url in urls.items():
            progress(f"phase: {args.slow} half-head connections against {name}")
            slow[name] = slow_clients(url, count=args.slow, duration_s=args.duration)
            progress(f"  {slow[name].under_load.describe()}; closed {slow[name].closed}")
    procs.stop(bare)
    return Results(low=low, high=high, slow=slow)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script(
        "bench.overload", lambda procs, workdir: report(run(args, procs, workdir), args)
    )


if __name__ == "__main__":
    sys.exit(main())
