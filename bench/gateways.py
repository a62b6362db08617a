"""Two gateways side by side on the hot path: this tree's against another checkout's.

    python -m bench.gateways --other /work/main [--duration 5] [--repeat 5] [--follow]

Both serve examples/hello (an empty GAIA_HOME each); the other one runs from the other
checkout's code (PYTHONPATH, so its workers too) with this venv's packages. wrk at 32
connections on `/hello/bench` alternates between them `--repeat` times after a warm-up;
the table gives the medians of requests/s and of CPU time per request (the gateway and
its workers, from /proc: steadier than requests/s on a shared machine), and the ratio.
`--follow` adds this tree's gateway with a `gaia logs hello --follow` client attached
during its runs, to show what a follower costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    REPO,
    BenchError,
    Proc,
    Processes,
    WrkResult,
    command_line,
    family_cpu_ticks,
    free_port,
    machine,
    markdown_table,
    progress,
    run_script,
    run_wrk,
    wait_serving,
)
from bench.hot_path import HELLO_PATH, median_result


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    proc: Proc
    # Started before each of this target's runs and stopped after (a log follower).
    companion: Callable[[], Proc] | None = None

    def cpu_ticks(self) -> int:
        return family_cpu_ticks(self.proc.pid)


def start(procs: Processes, workdir: Path, name: str, code: Path) -> tuple[Proc, int, int]:
    port, admin_port = free_port(), free_port()
    home = workdir / name
    env = {**os.environ, "GAIA_HOME": str(home), "PYTHONPATH": str(code)}
    argv = [sys.executable, "-m", "gateway", "up", "--port", str(port)]
    argv += ["--admin-port", str(admin_port)]
    proc = procs.spawn(f"gateway ({name})", argv, log=workdir / f"{name}.log", env=env)
    wait_serving(proc, f"http://127.0.0.1:{port}{HELLO_PATH}")
    return proc, port, admin_port


def follower(procs: Processes, workdir: Path, admin_port: int) -> Callable[[], Proc]:
    env = {
        **os.environ,
        "GAIA_HOME": str(workdir / "observe"),
        "GAIA_ADMIN_URL": f"http://127.0.0.1:{admin_port}",
    }
    argv = [sys.executable, "-m", "gateway", "logs", "hello", "--follow", "-o", "json"]
    return lambda: procs.spawn("log follower", argv, log=workdir / "follower.log", env=env)


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> str:
    other = Path(args.other).resolve()
    if not (other / "gateway" / "__init__.py").is_file():
        raise BenchError(f"--other {other}: expected a gaia checkout (no gateway/ there)")
    progress("starting both gateways")
    this_proc, this_port, this_admin = start(procs, workdir, "observe", REPO)
    other_proc, other_port, _ = start(procs, workdir, "other", other)
    targets = [
        Target("other", f"http://127.0.0.1:{other_port}{HELLO_PATH}", other_proc),
        Target("this", f"http://127.0.0.1:{this_port}{HELLO_PATH}", this_proc),
    ]
    if args.follow:
        targets.append(
            Target(
                "this + follower",
                targets[1].url,
                this_proc,
                companion=follower(procs, workdir, this_admin),
            )
        )
    for target in targets[:2]:
        warm = run_wrk(target.url, connections=32, duration_s=2)
        progress(f"  warm-up {target.name:<16} {warm.describe()}")
    results: dict[str, list[WrkResult]] = {t.name: [] for t in targets}
    cpu: dict[str, list[float]] = {t.name: [] for t in targets}
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    for round_no in range(1, args.repeat + 1):
        for target in targets:
            companion = target.companion() if target.companion else None
            before = target.cpu_ticks()
            result = run_wrk(target.url, connections=32, duration_s=args.duration)
            used = (target.cpu_ticks() - before) * tick_us / max(result.requests, 1)
            if companion is not None:
                procs.stop(companion)
            progress(f"  run {round_no}/{args.repeat} {target.name:<16} {result.describe()}"
                     f"  {used:.0f} CPU µs/request")  # fmt: skip
            results[target.name].append(result)
            cpu[target.name].append(used)
    return report(args, targets, results, cpu)


def report(
    args: argparse.Namespace,
    targets: Sequence[Target],
    results: dict[str, list[WrkResult]],
    cpu: dict[str, list[float]],
) -> str:
    base = median_result(results["other"])
    base_cpu = statistics.median(cpu["other"])
    rows = []
    for target in targets:
        median = median_result(results[target.name])
        cpu_us = statistics.median(cpu[target.name])
        rows.append(
            [
                target.name,
                f"{median.rps:,.0f}",
                f"{median.rps / base.rps:.3f}x",
                f"{cpu_us:.0f}",
                f"{cpu_us / base_cpu:.3f}x",
                f"{median.p50_ms:.3f}",
                str(median.errors),
            ]
        )
    table = markdown_table(
        ["gateway", "requests/s", "vs other", "CPU µs/request", "vs other", "p50 ms", "errors"],
        ["---", "---:", "---:", "---:", "---:", "---:", "---:"],
        rows,
    )
    return f"{table}\n\n`{command_line()}` (other: {args.other}); {machine()}\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gateways", description=__doc__)
    parser.add_argument("--other", required=True, help="another gaia checkout (e.g. main's)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=5, help="alternating runs")
    parser.add_argument("--follow", action="store_true", help="also with a log follower")
    args = parser.parse_args(argv)
    return run_script(parser.prog, lambda procs, workdir: run(args, procs, workdir))


if __name__ == "__main__":
    sys.exit(main())
