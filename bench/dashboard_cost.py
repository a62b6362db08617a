"""What the dashboard and the metrics cost the hot path: one gateway with and without
someone following /ui, and one with the metrics off.

    python -m bench.dashboard_cost [--duration 10] [--repeat 3] [--profile]

Two gateways serve examples/hello (an empty GAIA_HOME each): a normal one, and one
started through bench/no_metrics.py, whose invocation counters do nothing and whose
dashboard sampler never runs. wrk at 32 connections on `/hello/bench` alternates, after
a warm-up of each, `--repeat` rounds of four cases:

- `nobody`: the normal gateway, nobody following the dashboard;
- `stream`: the same gateway while a plain client (a thread of this script) follows
  `GET /v1/dashboard`'s event stream: what the gateway does for a browser, without a
  browser's CPU on the same cores;
- `browser`: the same gateway while headless chromium (bench/dashboard_browser.py,
  logged in once, at nice 19, on about:blank between its runs) has /ui open and live;
- `metrics off`: the other gateway.

The followers count what reached them during each run (stream events, page redraws),
to show that they were following. Per run: requests/s and p50, and the CPU time the
gateway and its workers used per request (from /proc); the browser's own CPU too. The
tables give the medians, and the ratios (the median of each round's) against the 3%
target. Two more rows measure the same cost from other sides, less moved by a busy
machine: what one dashboard view costs the gateway, times a follower's views per
second, against the CPU per second the gateway spends under the load; and with
`--profile` (`pip install py-spy`), py-spy samples the gateways during every run, and
the share of the gateway process's samples in the dashboard's code and in the metrics'.
Every process it starts is stopped on exit.

`--pin` gives the gateways (and the workers they start) CPU 0 and everything else (wrk,
the browser, this script) CPU 1, as if the browser were on another machine: the
gateway's requests/s then measures the gateway, not its share of two cores.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import signal
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from bench import pyspy
from bench.common import (
    LOAD_CPU,
    SERVER_CPU,
    BenchError,
    Gateway,
    Proc,
    Processes,
    WrkResult,
    command_line,
    family_cpu_ticks,
    machine,
    markdown_table,
    progress,
    run_script,
    run_wrk,
    start_gateway,
    verdict,
    wait_until,
)
from bench.hot_path import HELLO_PATH, median_result
from bench.side_by_side import parse_args
from gateway.ui.sampler import INTERVAL_S

TARGET = 0.03  # the hot path's cost: at most 3%
WARMUP_S = 2
LIVE_TIMEOUT_S = 90.0
NOBODY, STREAM, BROWSER, OFF = "nobody", "stream", "browser", "metrics off"
REPORT_S = 1.0
# Source paths whose share of the gateway's CPU --profile reports, and their columns.
DASHBOARD_CODE, METRICS_CODE = "gateway/ui/", "gateway/metrics.py"
PROFILED = {
    DASHBOARD_CODE: f"in the dashboard ({DASHBOARD_CODE})",
    METRICS_CODE: f"in the metrics ({METRICS_CODE})",
}
CLOCK_TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
TICK_VIEWS = 300


class Follower(Protocol):
    """Someone following the dashboard during a run."""

    def seen(self) -> int:
        """What it has seen so far: page redraws, or stream events."""
        ...

    def cpu_ticks(self) -> int:
        """Its own CPU so far (0 where it is a thread of this process)."""
        ...

    def stop(self) -> None: ...


@dataclass(frozen=True)
class Case:
    name: str
    gateway: Gateway
    follow: Callable[[], Follower] | None = None
    seen: str = ""  # what the follower's count is, for the progress lines


@dataclass(frozen=True)
class Run:
    wrk: WrkResult
    cpu_us: float  # the gateway's and its workers' CPU per request
    seen: int = 0  # the follower's page redraws or stream events during the run
    follower_cpu_pct: float = 0.0  # of one core, during the run
    stacks: str = ""  # py-spy's samples of the gateway during the run (--profile)


# --- the followers --------------------------------------------------------------------


@dataclass
class Browser:
    """chromium (bench/dashboard_browser.py), logged in once, at the lowest priority;
    between runs on about:blank, following /ui during them."""

    proc: Proc

    @classmethod
    def open(cls, procs: Processes, workdir: Path, gateway: Gateway) -> Browser:
        argv = [sys.executable, "-m", "bench.dashboard_browser"]
        argv += [gateway.admin_url, str(gateway.home / "admin-token")]
        browser = cls(procs.spawn("browser", argv, log=workdir / "browser.log", env=os.environ))
        browser._wait("left")
        return browser

    def _lines(self) -> list[str]:
        self.proc.check_alive()
        return self.proc.log.read_text(errors="replace").splitlines()

    def _wait(self, state: str) -> None:
        def reached() -> bool | None:
            states = [line for line in self._lines() if line in ("following", "left")]
            return True if states and states[-1] == state else None

        wait_until(reached, timeout_s=LIVE_TIMEOUT_S, what=f"the browser: {state}")

    def follow(self) -> Browser:
        os.kill(self.proc.pid, signal.SIGUSR1)
        self._wait("following")
        return self

    def seen(self) -> int:
        """Redraws since the page was last opened."""
        lines = self._lines()
        opened = max(i for i, line in enumerate(lines) if line == "following")
        counts = [int(line.split()[1]) for line in lines[opened:] if line.startswith("redraws ")]
        return counts[-1] if counts else 0

    def cpu_ticks(self) -> int:
        return family_cpu_ticks(self.proc.pid)

    def stop(self) -> None:
        os.kill(self.proc.pid, signal.SIGUSR2)
        self._wait("left")


class Stream:
    """A plain client reading `GET /v1/dashboard`'s events and counting them: the
    gateway does for it what it does for a browser, with no browser's CPU beside it."""

    def __init__(self, gateway: Gateway) -> None:
        token = (gateway.home / "admin-token").read_text().strip()
        self._conn = http.client.HTTPConnection("127.0.0.1", gateway.admin_port, timeout=60)
        self._conn.request(
            "GET",
            "/v1/dashboard",
            headers={"Authorization": f"Bearer {token}", "Accept": "text/event-stream"},
        )
        response = self._conn.getresponse()
        if response.status != 200:
            raise BenchError(f"GET /v1/dashboard (stream): HTTP {response.status}")
        self._events = 0
        self._thread = threading.Thread(target=self._read, args=(response,), daemon=True)
        self._thread.start()
        wait_until(lambda: self._events or None, timeout_s=LIVE_TIMEOUT_S, what="the stream")

    def _read(self, response: http.client.HTTPResponse) -> None:
        # stop() shuts the socket: the read ends with an error or an incomplete chunk.
        with contextlib.suppress(OSError, ValueError, http.client.HTTPException):
            for line in response:
                if line.startswith(b"event: "):
                    self._events += 1

    def seen(self) -> int:
        return self._events

    def cpu_ticks(self) -> int:
        return 0

    def stop(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(timeout=5)
        self._conn.close()


# --- measuring ------------------------------------------------------------------------


def tick_cost_us(gateway: Gateway, views: int) -> float:
    """The gateway's CPU per `GET /v1/dashboard` (JSON), quiet otherwise: more than what
    a follower's tick costs it (an overview and the newest samples), as it also pays for
    an HTTP request, the token check and the whole window of samples."""
    ticks = family_cpu_ticks(gateway.proc.pid)
    for _ in range(views):
        gateway.admin_json("GET", "/v1/dashboard")
    return (family_cpu_ticks(gateway.proc.pid) - ticks) * CLOCK_TICK_US / views


def measure(case: Case, duration_s: int, profile: Path | None) -> Run:
    """One wrk run of `case`; with `profile`, py-spy samples the gateway meanwhile."""
    follower = case.follow() if case.follow else None
    recorder = pyspy.record(case.gateway.proc.pid, duration_s, profile) if profile else None
    try:
        seen = follower.seen() if follower else 0
        follower_ticks = follower.cpu_ticks() if follower else 0
        ticks = family_cpu_ticks(case.gateway.proc.pid)
        started = time.monotonic()
        result = run_wrk(case.gateway.url(HELLO_PATH), connections=32, duration_s=duration_s)
        elapsed = time.monotonic() - started
        cpu_us = (family_cpu_ticks(case.gateway.proc.pid) - ticks) * CLOCK_TICK_US
        cpu_us /= max(result.requests, 1)
        stacks = ""
        if recorder is not None and profile is not None:
            pyspy.finish(recorder)
            recorder = None
            stacks = profile.read_text()
        if follower is None:
            return Run(wrk=result, cpu_us=cpu_us, stacks=stacks)
        follower_us = (follower.cpu_ticks() - follower_ticks) * CLOCK_TICK_US
        time.sleep(REPORT_S)  # the browser reports its count every 0.5 s
        return Run(
            wrk=result,
            cpu_us=cpu_us,
            seen=follower.seen() - seen,
            follower_cpu_pct=follower_us / (elapsed * 1e6) * 100,
            stacks=stacks,
        )
    finally:
        if recorder is not None:
            recorder.kill()
            recorder.wait()
        if follower is not None:
            follower.stop()


def describe(case: Case, run: Run) -> str:
    line = f"{case.name:<12} {run.wrk.describe()}  {run.cpu_us:.0f} CPU µs/request"
    if case.follow:
        line += f"  {case.seen} {run.seen}"
    if run.follower_cpu_pct:
        line += f", browser CPU {run.follower_cpu_pct:.0f}% of a core"
    return line


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> str:
    load_before = os.getloadavg()[0]
    if args.pin:
        os.sched_setaffinity(0, {SERVER_CPU})  # inherited by the gateways and their workers
    progress(f"load average (1 min) before: {load_before:.2f}; starting both gateways")
    on = start_gateway(procs, workdir / "on", log=workdir / "on.log", ready_path=HELLO_PATH)
    off = start_gateway(
        procs,
        workdir / "off",
        log=workdir / "off.log",
        ready_path=HELLO_PATH,
        module="bench.no_metrics",
    )
    if args.pin:
        os.sched_setaffinity(0, {LOAD_CPU})  # inherited by the browser, py-spy and wrk
    progress("  starting the browser")
    browser = Browser.open(procs, workdir, on)
    cases = [
        Case(NOBODY, on),
        Case(STREAM, on, lambda: Stream(on), "stream events"),
        Case(BROWSER, on, browser.follow, "page redraws"),
        Case(OFF, off),
    ]
    for name, gateway in (("metrics on", on), (OFF, off)):
        warm = run_wrk(gateway.url(HELLO_PATH), connections=32, duration_s=WARMUP_S)
        progress(f"  warm-up {name:<12} {warm.describe()}")
    tick_us = tick_cost_us(on, TICK_VIEWS)
    progress(f"  a dashboard view costs the gateway {tick_us:.0f} CPU µs")
    runs: dict[str, list[Run]] = {case.name: [] for case in cases}
    for round_no in range(1, args.repeat + 1):
        for case in cases:
            result = measure(case, args.duration, workdir / "stacks" if args.profile else None)
            progress(f"  run {round_no}/{args.repeat} {describe(case, result)}")
            runs[case.name].append(result)
    if args.duration >= INTERVAL_S and not all(r.seen for r in (*runs[STREAM], *runs[BROWSER])):
        progress("  warning: a follower saw nothing in some runs: was it following?")
    return report(cases, runs, tick_us, load_before, os.getloadavg()[0])


# --- the report -----------------------------------------------------------------------


@dataclass(frozen=True)
class Medians:
    wrk: WrkResult
    cpu_us: float
    seen: float
    follower_cpu_pct: float


def medians(runs: Sequence[Run]) -> Medians:
    return Medians(
        wrk=median_result([r.wrk for r in runs]),
        cpu_us=statistics.median(r.cpu_us for r in runs),
        seen=statistics.median(r.seen for r in runs),
        follower_cpu_pct=statistics.median(r.follower_cpu_pct for r in runs),
    )


def ratio_rows(what: str, runs: Sequence[Run], bases: Sequence[Run]) -> list[list[str]]:
    """CPU per request (at most 3% more) and requests/s (at most 3% fewer), each the
    median of the rounds' ratios: a round's runs are seconds apart, while what else
    runs on a shared machine moves its throughput from one round to the next."""
    cpu = statistics.median(r.cpu_us / b.cpu_us for r, b in zip(runs, bases, strict=True))
    rps = statistics.median(r.wrk.rps / b.wrk.rps for r, b in zip(runs, bases, strict=True))
    return [
        [f"{what}: gateway CPU/request", f"{cpu:.3f}x", f"<= {1 + TARGET:.2f}x",
         verdict(cpu <= 1 + TARGET)],
        [f"{what}: requests/s", f"{rps:.3f}x", f">= {1 - TARGET:.2f}x",
         verdict(rps >= 1 - TARGET)],
    ]  # fmt: skip


def profiles(cases: Sequence[Case], runs: dict[str, list[Run]]) -> dict[str, pyspy.Samples]:
    """Each case's py-spy samples of the gateway, every run together (none without
    --profile)."""
    found = {}
    for case in cases:
        samples = pyspy.Samples()
        for r in runs[case.name]:
            samples.add(r.stacks, list(PROFILED))
        if samples.total:
            found[case.name] = samples
    return found


def profile_report(cases: Sequence[Case], profiled: dict[str, pyspy.Samples]) -> str:
    """The share of the gateway process's samples in each of PROFILED, per case."""
    if not profiled:
        return ""
    rows = [
        [
            case.name,
            f"{profiled[case.name].total:,}",
            *(f"{profiled[case.name].share(path):.2%}" for path in PROFILED),
        ]
        for case in cases
        if case.name in profiled
    ]
    table = markdown_table(
        ["case", "py-spy samples of the gateway process", *PROFILED.values()],
        ["---", "---:", *("---:" for _ in PROFILED)],
        rows,
    )
    return (
        f"\n\n{table}\n\nthe share of the samples with that code on the stack"
        f" ({pyspy.RATE_HZ} Hz, threads that were running, every run together)"
    )


def share_row(what: str, share: float) -> list[str]:
    return [what, f"{share:.3%}", f"<= {TARGET:.0%}", verdict(share <= TARGET)]


def report(
    cases: Sequence[Case],
    runs: dict[str, list[Run]],
    tick_us: float,
    load_before: float,
    load_after: float,
) -> str:
    m = {name: medians(each) for name, each in runs.items()}
    rows = [
        [
            case.name,
            f"{m[case.name].wrk.rps:,.0f}",
            f"{m[case.name].cpu_us:.0f}",
            f"{m[case.name].wrk.p50_ms:.3f}",
            f"{m[case.name].seen:.0f} {case.seen}" if case.follow else "",
            f"{m[case.name].follower_cpu_pct:.0f}%" if case.name == BROWSER else "",
            str(m[case.name].wrk.errors),
        ]
        for case in cases
    ]
    table = markdown_table(
        [
            "case",
            "requests/s",
            "gateway CPU µs/request",
            "p50 ms",
            "the follower saw, per run",
            "browser CPU (of a core)",
            "errors",
        ],
        ["---", "---:", "---:", "---:", "---:", "---:", "---:"],
        rows,
    )
    nobody = m[NOBODY]
    # What a follower's ticks take of the CPU the gateway spends serving requests.
    busy_us_per_s = nobody.wrk.rps * nobody.cpu_us
    views_share = tick_us / INTERVAL_S / busy_us_per_s
    bound = (
        f"A dashboard view (`GET /v1/dashboard`, {TICK_VIEWS} in a row) costs the gateway "
        f"{tick_us:.0f} CPU µs; a follower gets one every {INTERVAL_S:.0f} s, against the "
        f"{busy_us_per_s / 1e6:.2f} CPU s/s the gateway spends on `nobody`'s load."
    )
    profiled = profiles(cases, runs)
    rows = [
        *ratio_rows("stream / nobody", runs[STREAM], runs[NOBODY]),
        *ratio_rows("browser / nobody", runs[BROWSER], runs[NOBODY]),
        *ratio_rows("metrics on / off", runs[NOBODY], runs[OFF]),
        share_row("a follower's views / the gateway's CPU under `nobody`'s load", views_share),
    ]
    if profiled:
        rows.append(
            share_row(
                "the gateway's CPU in the dashboard's code, `browser`",
                profiled[BROWSER].share(DASHBOARD_CODE),
            )
        )
        rows.append(
            share_row(
                "the gateway's CPU in the metrics' code, `nobody`",
                profiled[NOBODY].share(METRICS_CODE),
            )
        )
    targets = markdown_table(
        ["ratio", "measured", "target", "met?"], ["---", "---:", "---:", "---"], rows
    )
    repeat = len(runs[NOBODY])
    where = profile_report(cases, profiled)
    return (
        f"{table}\n\n{targets}\n\n{bound}{where}\n\nmedians of {repeat} alternating runs "
        "(ratios: the median of each round's); "
        f"load average (1 min) {load_before:.2f} before, {load_after:.2f} after\n"
        f"`{command_line()}`; {machine()}\n"
    )


def options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the gateways with py-spy during every run: where their CPU goes",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the gateways on CPU 0, wrk and the browser on CPU 1",
    )


def main(argv: Sequence[str] | None = None) -> int:
    prog = "python -m bench.dashboard_cost"
    args = parse_args(prog, __doc__, argv, more=options)
    return run_script(prog, lambda procs, workdir: run(args, procs, workdir))


if __name__ == "__main__":
    sys.exit(main())
