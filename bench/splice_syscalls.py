"""Where a proxied request's CPU goes outside Python: the system calls the proxy makes per
request, gaia's legacy proxy beside the bare Python splice (bench/bare_splice.py), both
before the same old API, in one run.

    python -m bench.splice_syscalls [--duration 5] [--repeat 3] [--no-bare]

Targets proxy `GET /hello` to one old API process (tests/legacy/oldapi.py): the bare
splice (one process) and `gaia up` with `legacy.upstream` only (one process, as
shipped). wrk at 32 connections alternates over them, `--repeat` times after a warm-up.
Each round has two runs per target: one counts the proxy's system calls by name with
`perf stat -e 'syscalls:sys_enter_*'` (kernel tracepoints: every call of every thread,
with a cost of its own, so that run's CPU time is not used), one measures the proxy's
CPU time per request (its threads' scheduler run time, /proc/PID/task/*/schedstat, in
ns; the perf-free run), and of it the user and kernel shares (/proc/PID/stat ticks).
Medians over the rounds; the load average before and after.

Needs `perf` with the syscalls tracepoints (Debian: linux-perf; run as root or with
kernel.perf_event_paranoid <= -1) and wrk.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from bench.common import (
    BenchError,
    Processes,
    free_port,
    markdown_table,
    progress,
    run_script,
    run_wrk,
    start_gateway,
    wait_serving,
)
from bench.hot_path import warm_up
from bench.legacy_proxy import PATH, checked_runs, runs_parser, start_old_api, where

WARMUP_S = 2
TICK_US = 1e6 / os.sysconf("SC_CLK_TCK")
# Let perf attach to every thread before the load starts.
PERF_ATTACH_S = 0.5
# Syscalls shown on their own row; the rest are summed as "other".
SHOWN = (
    "read",
    "recvfrom",
    "write",
    "writev",
    "sendto",
    "sendmsg",
    "epoll_wait",
    "epoll_pwait",
    "epoll_ctl",
    "getsockopt",
    "setsockopt",
    "clock_gettime",
    "futex",
    "ioctl",
    "getpid",
)


def run_ns(pid: int) -> int:
    """Nanoseconds `pid`'s threads have run so far (the scheduler's own account)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError):
            continue  # a thread that ended meanwhile
    return total


def perf_argv(pid: int) -> list[str]:
    perf = shutil.which("perf")
    if perf is None:
        raise BenchError("perf is not on PATH (Debian: apt-get install linux-perf)")
    return [perf, "stat", "-x", ",", "-e", "syscalls:sys_enter_*", "-p", str(pid)]


def parse_perf(output: str) -> Counter[str]:
    """perf stat's CSV lines (`count,unit,event,...`) as counts by syscall name."""
    counts: Counter[str] = Counter()
    for line in output.splitlines():
        fields = line.split(",")
        if len(fields) < 3 or not fields[0].isdigit():
            continue
        event = fields[2]
        if event.startswith("syscalls:sys_enter_"):
            counts[event.removeprefix("syscalls:sys_enter_")] += int(fields[0])
    return counts


def count_syscalls(pid: int, url: str, duration_s: int) -> tuple[Counter[str], int]:
    """The proxy's syscalls by name during one wrk run, and the requests wrk made."""
    perf = subprocess.Popen(
        perf_argv(pid), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(PERF_ATTACH_S)
        if perf.poll() is not None:
            raise BenchError(f"perf stat failed: {perf.communicate()[1].strip()}")
        result = run_wrk(url, connections=32, duration_s=duration_s)
    finally:
        perf.send_signal(signal.SIGINT)
    _, err = perf.communicate(timeout=30)
    counts = parse_perf(err)
    if not counts:
        raise BenchError(f"perf stat counted nothing:\n{err}")
    return counts, result.requests


def user_system_ticks(pid: int) -> tuple[int, int]:
    """`pid`'s user and system CPU ticks so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return int(fields[11]), int(fields[12])


def cpu_per_request(pid: int, url: str, duration_s: int) -> tuple[float, float, float, float]:
    """The proxy's CPU µs per request during one wrk run, of them in user space and in the
    kernel (from ticks: coarser), and the requests/s."""
    before, ticks_before = run_ns(pid), user_system_ticks(pid)
    result = run_wrk(url, connections=32, duration_s=duration_s)
    requests = max(result.requests, 1)
    used = (run_ns(pid) - before) / 1e3 / requests
    user, system = (
        (after - earlier) * TICK_US / requests
        for after, earlier in zip(user_system_ticks(pid), ticks_before, strict=True)
    )
    return used, user, system, result.rps


def start_targets(
    procs: Processes, workdir: Path, *, with_bare: bool
) -> dict[str, tuple[str, int]]:
    upstream_port, _ = start_old_api(procs, workdir)
    targets: dict[str, tuple[str, int]] = {}
    if with_bare:
        port = free_port()
        argv = [sys.executable, "-m", "bench.bare_splice", str(port), str(upstream_port)]
        bare = procs.spawn("bare x1", argv, log=workdir / "bare.log", env=os.environ)
        url = f"http://127.0.0.1:{port}{PATH}"
        wait_serving(bare, url)
        targets["bare x1"] = (url, bare.pid)
    gaia_yaml = workdir / "gaia.yaml"
    gaia_yaml.write_text(
        f"functions: {{}}\nlegacy:\n  upstream: http://127.0.0.1:{upstream_port}\n"
    )
    gateway = start_gateway(
        procs, workdir / "home", log=workdir / "gateway.log", ready_path=PATH, config=gaia_yaml
    )
    targets["gaia x1"] = (gateway.url(PATH), gateway.proc.pid)
    return targets


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> str:
    load_before = os.getloadavg()[0]
    progress(f"load average (1 min) before: {load_before:.2f}; starting the servers")
    targets = start_targets(procs, workdir, with_bare=args.bare)
    warm_up({name: url for name, (url, _) in targets.items()}, WARMUP_S)
    calls: dict[str, list[dict[str, float]]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    user: dict[str, list[float]] = {name: [] for name in targets}
    system: dict[str, list[float]] = {name: [] for name in targets}
    rps: dict[str, list[float]] = {name: [] for name in targets}
    for round_no in range(1, args.repeat + 1):
        for name, (url, pid) in targets.items():
            counts, requests = count_syscalls(pid, url, args.duration)
            per = {call: n / max(requests, 1) for call, n in counts.items()}
            calls[name].append(per)
            used, in_user, in_kernel, rate = cpu_per_request(pid, url, args.duration)
            cpu[name].append(used)
            user[name].append(in_user)
            system[name].append(in_kernel)
            rps[name].append(rate)
            progress(f"  run {round_no}/{args.repeat} {name:<8} {rate:,.0f} req/s, {used:.1f} CPU"
                     f" µs/request; {sum(per.values()):.2f} syscalls/request")  # fmt: skip
    return report(args, calls, {"": cpu, "user": user, "kernel": system}, rps, load_before)


def report(
    args: argparse.Namespace,
    calls: dict[str, list[dict[str, float]]],
    cpu: dict[str, dict[str, list[float]]],
    rps: dict[str, list[float]],
    load_before: float,
) -> str:
    names = list(calls)
    medians = {
        name: {
            call: statistics.median(run.get(call, 0.0) for run in runs)
            for call in {c for run in runs for c in run}
        }
        for name, runs in calls.items()
    }
    rows = []
    for call in SHOWN:
        if any(medians[name].get(call, 0.0) >= 0.005 for name in names):
            rows.append((call, *(f"{medians[name].get(call, 0.0):.2f}" for name in names)))
    other = {
        name: {c: v for c, v in medians[name].items() if c not in SHOWN and v >= 0.005}
        for name in names
    }
    rows.append(("other", *(f"{sum(other[name].values()):.2f}" for name in names)))
    rows.append(
        (
            "all syscalls",
            *(f"{statistics.median(sum(r.values()) for r in calls[n]):.2f}" for n in names),
        )
    )
    for part, figures in cpu.items():
        label = f"CPU µs/request{', ' + part if part else ''}"
        rows.append((label, *(f"{statistics.median(figures[n]):.1f}" for n in names)))
    rows.append(("requests/s", *(f"{statistics.median(rps[n]):,.0f}" for n in names)))
    table = markdown_table(
        ("per request, 32 connections", *names), ("---", *("---:" for _ in names)), rows
    )
    others = "; ".join(
        f"{name}: " + ", ".join(f"{c} {v:.2f}" for c, v in sorted(other[name].items()))
        for name in names
        if other[name]
    )
    notes = [
        *where(load_before, os.getloadavg()[0]),
        f"wrk -t1 -c32 -d{args.duration}s, alternating, {args.repeat} round(s) after a"
        f" {WARMUP_S}s warm-up; syscalls counted by perf in one run, CPU from the next; medians.",
    ]
    if others:
        notes.append(f"Other syscalls per request: {others}.")
    return "\n\n".join([table, "\n".join(f"- {n}" for n in notes)])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = runs_parser(
        "bench.splice_syscalls",
        "syscalls and CPU per request, gaia beside the bare splice.",
        duration_s=5,
    )
    parser.add_argument("--no-bare", dest="bare", action="store_false", help="gaia only")
    return checked_runs(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script("bench.splice_syscalls", lambda procs, workdir: run(args, procs, workdir))


if __name__ == "__main__":
    sys.exit(main())
