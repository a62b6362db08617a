"""HTTP benchmark: gaia's data plane beside a bare Starlette app serving the same function.

    python -m bench.hot_path [--duration 10] [--repeat 3] [--revisions 20]

In one run it measures, side by side:

1. throughput and latency at 32 connections (`wrk -t1 -c32 --latency`): a bare Starlette
   app on uvicorn (bench/bare_app.py) against the gateway serving examples/hello;
   runs alternate bare/gateway `--repeat` times after a warm-up of each; medians;
2. added latency at 1 connection (`wrk -t1 -c1`): p50 of each and the difference;
3. cold start: the first invocation of `--revisions` never-warmed hello revisions,
   each timed end to end through `POST /v1/functions/hello/invoke?revision=N`
   (new TCP connection, request, full response) after a gateway restart;
4. memory: the idle gateway's RSS and each idle Python worker's USS.

It prints progress per phase, then a markdown table, the command line and the machine.
Every process it starts (and every descendant) is stopped on exit, Ctrl-C included.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
import statistics
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import (
    REPO,
    BenchError,
    Gateway,
    Proc,
    Processes,
    ProcStat,
    WrkResult,
    bundle,
    command_line,
    descendants,
    free_port,
    machine,
    markdown_table,
    percentile,
    progress,
    run_script,
    run_wrk,
    sandbox,
    start_gateway,
    verdict,
    wait_serving,
    wrk_command,
)

HELLO_DIR = REPO / "examples" / "hello"
HELLO_PATH = "/hello/bench"
GENERIC_URL = f"http://127.0.0.1:PORT{HELLO_PATH}"
WARMUP_S = 2
IDLE_TIMEOUT_S = 15.0
IDLE_CPU_WINDOW_S = 0.05


# --- /proc ----------------------------------------------------------------------------


def is_python(stat: ProcStat) -> bool:
    """A Python worker (bwrap wraps each one in two tiny processes of its own)."""
    return stat.comm.startswith("python") and stat.state != "Z"


def proc_kb(path: str, keys: Iterable[str]) -> int:
    """Sum of the `Key:  N kB` lines of a /proc file (0 when the process is gone)."""
    wanted = set(keys)
    try:
        lines = Path(path).read_text().splitlines()
    except OSError:
        return 0
    return sum(int(line.split()[1]) for line in lines if line.split(":")[0] in wanted)


def rss_mb(pid: int) -> float:
    return proc_kb(f"/proc/{pid}/status", ["VmRSS"]) / 1024


def uss_mb(pid: int) -> float:
    return proc_kb(f"/proc/{pid}/smaps_rollup", ["Private_Clean", "Private_Dirty"]) / 1024


# --- the two servers ------------------------------------------------------------------


def bare_command(port: int | str) -> list[str]:
    return [
        sys.executable,
        *("-m", "uvicorn", "bench.bare_app:app"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--loop", "uvloop", "--http", "httptools", "--no-access-log"),
        *("--log-level", "warning"),
    ]


def start_bare(procs: Processes, workdir: Path) -> tuple[Proc, str]:
    port = free_port()
    proc = procs.spawn("bare app", bare_command(port), log=workdir / "bare.log", env=os.environ)
    url = f"http://127.0.0.1:{port}{HELLO_PATH}"
    wait_serving(proc, url)
    return proc, url


def start_hello_gateway(procs: Processes, workdir: Path, home: Path) -> Gateway:
    """`python -m gateway up` on an (initially empty) GAIA_HOME: it serves examples/hello."""
    return start_gateway(procs, home, log=workdir / "gateway.log", ready_path=HELLO_PATH)


# --- phases 1 and 2: wrk, alternating ---------------------------------------------------


def compare(
    urls: Mapping[str, str], *, connections: int, duration_s: int, repeat: int
) -> dict[str, WrkResult]:
    """Alternate wrk runs over `urls` `repeat` times; the median of each metric per name."""
    runs: dict[str, list[WrkResult]] = {name: [] for name in urls}
    for round_no in range(1, repeat + 1):
        for name, url in urls.items():
            result = run_wrk(url, connections=connections, duration_s=duration_s)
            progress(f"  c{connections} run {round_no}/{repeat} {name:<8} {result.describe()}")
            runs[name].append(result)
    return {name: median_result(results) for name, results in runs.items()}


def median_result(results: Sequence[WrkResult]) -> WrkResult:
    return WrkResult(
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
    )


def warm_up(urls: Mapping[str, str], duration_s: int) -> None:
    for name, url in urls.items():
        result = run_wrk(url, connections=32, duration_s=duration_s)
        progress(f"  warm-up {name:<8} {result.describe()}")


# --- idleness and memory ----------------------------------------------------------------


def spares_expected() -> int:
    return int(os.environ.get("GAIA_SPARES", "1"))


def pools(gateway: Gateway) -> list[dict[str, Any]]:
    status: dict[str, Any] = gateway.admin_json("GET", "/v1/status")
    result: list[dict[str, Any]] = status["pools"]
    return result


def python_workers(gateway: Gateway) -> list[ProcStat]:
    return [stat for stat in descendants(gateway.proc.pid) if is_python(stat)]


def idle_snapshot(gateway: Gateway) -> dict[int, int] | None:
    """Worker pid -> CPU ticks when every pool is ready and quiet and the worker count
    is what the pools plus the spares should have; else None."""
    gateway.proc.check_alive()
    current = pools(gateway)
    quiet = all(
        p["ready"] == p["instances"] and p["in_flight"] == 0 and p["queued"] == 0 for p in current
    )
    workers = python_workers(gateway)
    expected = sum(p["instances"] for p in current) + spares_expected()
    if not quiet or len(workers) != expected:
        return None
    return {w.pid: w.cpu_ticks for w in workers}


def wait_idle(gateway: Gateway) -> bool:
    """Wait until two snapshots IDLE_CPU_WINDOW_S apart agree: same workers, no CPU used
    (every worker booted and waiting). False, with a warning, past the deadline."""
    deadline = time.monotonic() + IDLE_TIMEOUT_S
    previous: dict[int, int] | None = None
    while time.monotonic() < deadline:
        current = idle_snapshot(gateway)
        if current is not None and current == previous:
            return True
        previous = current
        time.sleep(IDLE_CPU_WINDOW_S)
    progress(f"  warning: gateway not idle after {IDLE_TIMEOUT_S:.0f}s; measuring anyway")
    return False


@dataclass(frozen=True)
class Memory:
    bare_rss_mb: float
    gateway_rss_mb: float
    worker_uss_mb: list[float]
    bwrap_uss_mb: list[float]


def measure_memory(gateway: Gateway, bare: Proc) -> Memory:
    wait_idle(gateway)
    family = descendants(gateway.proc.pid)
    instances = sum(p["instances"] for p in pools(gateway))
    memory = Memory(
        bare_rss_mb=rss_mb(bare.pid),
        gateway_rss_mb=rss_mb(gateway.proc.pid),
        worker_uss_mb=[uss_mb(s.pid) for s in family if is_python(s)],
        bwrap_uss_mb=[uss_mb(s.pid) for s in family if s.comm == "bwrap"],
    )
    progress(
        f"  gateway RSS {memory.gateway_rss_mb:.1f} MB, bare app RSS {memory.bare_rss_mb:.1f} MB"
    )
    progress(
        f"  {len(memory.worker_uss_mb)} python workers ({instances} pool instances + spares),"
        f" USS (MB): {fmt_list(memory.worker_uss_mb)}"
    )
    progress(f"  bwrap processes USS (MB): {fmt_list(memory.bwrap_uss_mb) or 'none'}")
    return memory


def fmt_list(values: Iterable[float]) -> str:
    return ", ".join(f"{v:.1f}" for v in sorted(values))


# --- phase 3: cold starts ---------------------------------------------------------------


def hello_variant(workdir: Path, index: int) -> Path:
    """A copy of examples/hello whose digest differs by one comment line."""
    target = workdir / f"hello-{index}"
    shutil.copytree(HELLO_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    main = target / "main.py"
    main.write_text(main.read_text() + f"\n# bench cold-start variant {index} ({time.time_ns()})\n")
    return target


def pin_default(gateway: Gateway) -> int:
    """Pin hello:default to its current revision, so new revisions stay unreferenced."""
    function: dict[str, Any] = gateway.admin_json("GET", "/v1/functions/hello")
    pinned: int = function["latest"]
    traffic = {"traffic": [{"revision": pinned, "percent": 100}]}
    gateway.admin_json("PUT", "/v1/functions/hello/aliases/default", traffic)
    return pinned


def publish_variants(gateway: Gateway, workdir: Path, count: int) -> list[int]:
    revisions: list[int] = []
    for index in range(count):
        body = {"code": bundle(hello_variant(workdir, index)), "config": {}}
        view: dict[str, Any] = gateway.admin_json("POST", "/v1/functions/hello/revisions", body)
        if not view.get("created"):
            raise BenchError(f"publishing variant {index} created no revision: {view}")
        revisions.append(int(view["revision"]))
    return revisions


def check_cold(gateway: Gateway, revisions: Iterable[int]) -> None:
    warm = {p["revision"] for p in pools(gateway)}
    already = [f"hello@{n}" for n in revisions if f"hello@{n}" in warm]
    if already:
        raise BenchError(f"after the restart these revisions have pools already: {already}")


def time_cold_start(gateway: Gateway, revision: int) -> float:
    wait_idle(gateway)
    reply = gateway.admin("POST", f"/v1/functions/hello/invoke?revision={revision}")
    if reply.status != 200 or b"hello" not in reply.body:
        raise BenchError(f"invoking hello@{revision}: HTTP {reply.status}: {reply.body!r}")
    progress(f"  hello@{revision}: {reply.elapsed_ms:.1f} ms")
    return reply.elapsed_ms


# --- report -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    c32: dict[str, WrkResult]
    c1: dict[str, WrkResult]
    memory: Memory
    cold_ms: list[float]


Row = tuple[str, str, str, str, str, str]


def row(
    metric: str, bare: str, gateway: str, diff: str = "-", goal: str = "", ok: bool = True
) -> Row:
    """One table line; without a goal, the target and verdict cells are dashes."""
    return (metric, bare, gateway, diff, goal or "-", verdict(ok) if goal else "-")


def latency_rows(label: str, bare: WrkResult, gateway: WrkResult, p50_goal_ms: float) -> list[Row]:
    """p50 and p99 rows; the p50 difference is held to `p50_goal_ms` when it is not NaN."""
    p50_diff, p99_diff = gateway.p50_ms - bare.p50_ms, gateway.p99_ms - bare.p99_ms
    goal = "" if math.isnan(p50_goal_ms) else f"≤ +{p50_goal_ms} ms"
    return [
        row(
            f"p50 latency, {label} (ms)",
            f"{bare.p50_ms:.3f}",
            f"{gateway.p50_ms:.3f}",
            f"{p50_diff:+.3f} ms",
            goal,
            p50_diff <= p50_goal_ms,
        ),
        row(
            f"p99 latency, {label} (ms)",
            f"{bare.p99_ms:.3f}",
            f"{gateway.p99_ms:.3f}",
            f"{p99_diff:+.3f} ms",
        ),
    ]


def table_rows(results: Results) -> list[Row]:
    bare32, gw32 = results.c32["bare"], results.c32["gateway"]
    ratio = gw32.rps / bare32.rps
    samples = len(results.cold_ms)
    cold50, cold99 = percentile(results.cold_ms, 50), percentile(results.cold_ms, 99)
    mem = results.memory
    uss_max = max(mem.worker_uss_mb, default=0.0)
    uss_median = statistics.median(mem.worker_uss_mb) if mem.worker_uss_mb else 0.0
    return [
        row(
            "requests/s, 32 connections",
            f"{bare32.rps:,.0f}",
            f"{gw32.rps:,.0f}",
            f"{ratio:.2f}x",
            "≥ 0.8x",
            ratio >= 0.8,
        ),
        *latency_rows("32 connections", bare32, gw32, math.nan),
        *latency_rows("1 connection", results.c1["bare"], results.c1["gateway"], 0.15),
        row(
            f"cold start p50, {samples} revisions (ms)",
            "-",
            f"{cold50:.1f}",
            goal="≤ 50 ms",
            ok=cold50 <= 50,
        ),
        row(f"cold start p99, {samples} revisions (ms)", "-", f"{cold99:.1f}"),
        row(
            "idle RSS (MB)",
            f"{mem.bare_rss_mb:.1f}",
            f"{mem.gateway_rss_mb:.1f}",
            goal="gateway ≤ 80 MB",
            ok=mem.gateway_rss_mb <= 80,
        ),
        row(
            f"idle worker USS, max of {len(mem.worker_uss_mb)} (MB)",
            "-",
            f"{uss_max:.1f}",
            goal="≤ 20 MB",
            ok=uss_max <= 20,
        ),
        row(
            "idle worker USS, median (MB)",
            "-",
            f"{uss_median:.1f}",
            goal="≤ 20 MB",
            ok=uss_median <= 20,
        ),
    ]


def hello_table(rows: Sequence[Row]) -> str:
    header: Row = ("metric", "bare", "gateway", "ratio/diff", "target", "met?")
    return markdown_table(header, ("---", "---:", "---:", "---:", "---", "---"), rows)


def report(results: Results, args: argparse.Namespace) -> str:
    notes = [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; worker sandbox: {sandbox()}.",
        f"Load: `{shlex.join(wrk_command(GENERIC_URL, 32, args.duration))}` (and `-c1`), "
        f"alternating bare/gateway, {args.repeat} run(s) each after a {WARMUP_S}s warm-up; "
        "medians.",
        f"Bare: `{shlex.join(bare_command('PORT')).replace(sys.executable, 'python')}` "
        "(bench/bare_app.py, one process); gateway: `python -m gateway up` serving "
        "examples/hello, access log to a file.",
        "Cold start: first `POST /v1/functions/hello/invoke?revision=N` (admin API, new "
        f"connection, end to end) of {len(results.cold_ms)} never-warmed revisions after a "
        "gateway restart, each once the gateway is idle.",
        "Memory: gateway VmRSS; worker USS = Private_Clean + Private_Dirty (smaps_rollup) of "
        "every idle Python worker under the gateway (pool instances and the spare).",
    ]
    return hello_table(table_rows(results)) + "\n\n" + "\n".join(f"- {n}" for n in notes)


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.hot_path",
        description="gaia's data plane beside a bare Starlette app: throughput, added "
        "latency, cold start and memory.",
    )
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per phase")
    parser.add_argument("--revisions", type=int, default=20, help="cold-start samples")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.repeat < 1 or args.revisions < 1:
        parser.error("--duration, --repeat and --revisions must be at least 1")
    return args


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> Results:
    home = workdir / "home"
    progress(f"starting the bare app and the gateway (logs in {workdir})")
    bare, bare_url = start_bare(procs, workdir)
    gateway = start_hello_gateway(procs, workdir, home)
    urls = {"bare": bare_url, "gateway": gateway.url(HELLO_PATH)}
    progress(f"phase: warm-up, {min(WARMUP_S, args.duration)}s each")
    warm_up(urls, min(WARMUP_S, args.duration))
    progress(f"phase: throughput at 32 connections, {args.duration}s x {args.repeat}")
    c32 = compare(urls, connections=32, duration_s=args.duration, repeat=args.repeat)
    progress(f"phase: latency at 1 connection, {args.duration}s x {args.repeat}")
    c1 = compare(urls, connections=1, duration_s=args.duration, repeat=args.repeat)
    progress("phase: memory of the idle, warmed-up gateway")
    memory = measure_memory(gateway, bare)
    procs.stop(bare)
    progress(f"phase: cold start; publishing {args.revisions} revisions of hello")
    pinned = pin_default(gateway)
    revisions = publish_variants(gateway, workdir, args.revisions)
    progress(f"  hello:default pinned to hello@{pinned}; restarting the gateway")
    procs.stop(gateway.proc)
    gateway = start_hello_gateway(procs, workdir, home)
    check_cold(gateway, revisions)
    cold_ms = [time_cold_start(gateway, revision) for revision in revisions]
    return Results(c32=c32, c1=c1, memory=memory, cold_ms=cold_ms)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script(
        "bench.hot_path", lambda procs, workdir: report(run(args, procs, workdir), args)
    )


if __name__ == "__main__":
    sys.exit(main())
