"""What the one-run comparisons (bench/legacy_proxy.py, bench/container.py,
bench/asgi_app.py, and the 32-connection step of others) share: the
`--duration`/`--repeat` arguments, the servers as `Target`s (a URL and the processes
whose CPU time it costs), and the measurement itself, wrk alternating over servers
already started: 32 connections with each server's CPU time per request, then 1
connection, between the machine's load average before and after."""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import Processes, WrkResult, family_cpu_ticks, progress, run_wrk
from bench.hot_path import compare, median_result, warm_up

WARMUP_S = 2


@dataclass(frozen=True)
class Results:
    c32: dict[str, WrkResult]
    c1: dict[str, WrkResult]
    cpu_us: dict[str, float]  # each server's own, at 32 connections (median of the runs)
    load_before: float
    load_after: float

    @property
    def errors(self) -> int:
        return sum(r.errors for r in (*self.c32.values(), *self.c1.values()))


@dataclass(frozen=True)
class Target:
    """A URL and the processes whose CPU time its requests cost the proxy in between."""

    url: str
    pids: tuple[int, ...]

    def cpu_ticks(self) -> int:
        return sum(map(family_cpu_ticks, self.pids))


def compare_with_cpu(
    targets: dict[str, Target], *, duration_s: int, repeat: int
) -> tuple[dict[str, WrkResult], dict[str, float]]:
    """wrk at 32 connections over the targets in turn, `repeat` times; medians of the
    results and of each target's CPU µs per request."""
    runs: dict[str, list[WrkResult]] = {name: [] for name in targets}
    cpu: dict[str, list[float]] = {name: [] for name in targets}
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    for round_no in range(1, repeat + 1):
        for name, target in targets.items():
            before = target.cpu_ticks()
            result = run_wrk(target.url, connections=32, duration_s=duration_s)
            used = (target.cpu_ticks() - before) * tick_us / max(result.requests, 1)
            progress(f"  c32 run {round_no}/{repeat} {name:<8} {result.describe()}"
                     f"  {used:.0f} CPU µs/request")  # fmt: skip
            runs[name].append(result)
            cpu[name].append(used)
    medians = {name: median_result(results) for name, results in runs.items()}
    return medians, {name: statistics.median(values) for name, values in cpu.items()}


def measure(
    args: argparse.Namespace,
    procs: Processes,
    workdir: Path,
    start: Callable[[Processes, Path], dict[str, Target]],
) -> Results:
    """Start the servers with `start`, warm each up, then wrk over them in turn."""
    load_before = os.getloadavg()[0]
    progress(f"load average (1 min) before: {load_before:.2f}; starting the servers")
    targets = start(procs, workdir)
    urls = {name: target.url for name, target in targets.items()}
    warm_up(urls, min(WARMUP_S, args.duration))
    progress(f"phase: 32 connections, {args.duration}s x {args.repeat}")
    c32, cpu_us = compare_with_cpu(targets, duration_s=args.duration, repeat=args.repeat)
    progress(f"phase: 1 connection, {args.duration}s x {args.repeat}")
    c1 = compare(urls, connections=1, duration_s=args.duration, repeat=args.repeat)
    return Results(
        c32=c32, c1=c1, cpu_us=cpu_us, load_before=load_before, load_after=os.getloadavg()[0]
    )


def parse_args(
    prog: str,
    doc: str | None,
    argv: Sequence[str] | None,
    *,
    more: Callable[[argparse.ArgumentParser], None] | None = None,
) -> argparse.Namespace:
    """The arguments of a script whose docstring's first line describes it; `more` adds
    the script's own."""
    description = (doc or "").split("\n", 1)[0]
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per phase")
    if more is not None:
        more(parser)
    args = parser.parse_args(argv)
    if args.duration < 1 or args.repeat < 1:
        parser.error("--duration and --repeat must be at least 1")
    return args
