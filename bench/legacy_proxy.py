"""The legacy proxy beside nginx, both before the same old API, in one run; or, with
`--shadow`, the same route in state shadow beside state legacy.

    python -m bench.legacy_proxy [--duration 10] [--repeat 3] [--shadow]

Three URLs answer `GET /hello` (`hello`, text/plain) from one old API process
(tests/legacy/oldapi.py on uvicorn): the old API directly, nginx proxying to it (the
reverse-proxy block of tests/legacy/proxy/nginx.py: HTTP/1.1 keep-alive upstream,
X-Forwarded-*, no buffering) and `gaia up` with `legacy.upstream` and no functions, so
every request takes the proxy path. wrk runs alternate over the three, `--repeat`
times after a warm-up, at 32 connections and then at 1; medians. It prints requests/s
at 32 connections with gaia's ratio to nginx (target ≥ 0.7x) and each server's own CPU
time per request, and p50 at 1 connection with the latency each proxy adds over the old
API directly (target for gaia ≤ 0.3 ms),
plus the machine's load average before and after, since the machine may be shared.

`--shadow [--rate R]`: one old API and one `gaia up` (`shadow.rate` R, default 10 as
gaia's) whose ledger has `GET /hello` with a function
(`hello`, answering the same text); wrk runs alternate between the route in state
legacy and in state shadow (moved through the admin API before each run, waiting for
the copies of the last shadow run to be done; each state first in every other round),
at 32 connections and at 1. It prints
requests/s and p50 in each state and their ratio (target: the client path at most 5%
slower), the CPU time per request of the gateway's process, of its workers (the
function's) and of the old API, which share the cores, the workers' thread switches a
second (each one a wake-up that takes a core), and how many copies the shadow runs made
(compared), skipped (over `shadow.rate`) and dropped (queue full).
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    Gateway,
    Processes,
    WrkResult,
    command_line,
    descendants,
    family_cpu_ticks,
    free_port,
    machine,
    markdown_table,
    progress,
    read_stat,
    run_script,
    run_wrk,
    start_gateway,
    verdict,
    wait_serving,
    wait_until,
    wrk_command,
)
from bench.hot_path import median_result, warm_up
from bench.side_by_side import Results, Target, measure
from tests.legacy.proxy.nginx import nginx_argv, write_config

PATH = "/hello"
WARMUP_S = 2
RATIO_TARGET = 0.7
ADDED_P50_TARGET_MS = 0.3
# The shadow state may cost the client at most this much of the legacy state's figures.
SHADOW_OVERHEAD_TARGET = 0.05
STATES = ("legacy", "shadow")
# The function the shadow copies go to: it answers what the old API's /hello answers.
FUNCTION = 'def handler(event, context):\n    return "hello"\n'


def start_old_api(procs: Processes, workdir: Path) -> tuple[int, Target]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.legacy.oldapi", str(port), "bench"]
    old_api = procs.spawn("old API", argv, log=workdir / "oldapi.log", env=os.environ)
    direct = f"http://127.0.0.1:{port}{PATH}"
    wait_serving(old_api, direct)
    return port, Target(direct, (old_api.pid,))


def start_nginx(procs: Processes, workdir: Path, *, upstream_port: int, path: str) -> Target:
    """nginx (one worker, tests/legacy/proxy/nginx.py's reverse-proxy block) before the
    server on `upstream_port`, once it answers `path` through it."""
    nginx_port = free_port()
    prefix = workdir / "nginx"
    config = write_config(prefix, port=nginx_port, upstream_port=upstream_port)
    nginx = procs.spawn("nginx", nginx_argv(prefix, config), log=workdir / "nginx.log",
                        env=os.environ)  # fmt: skip
    through_nginx = f"http://127.0.0.1:{nginx_port}{path}"
    wait_serving(nginx, through_nginx)
    return Target(through_nginx, (nginx.pid,))


def start_all(procs: Processes, workdir: Path) -> dict[str, Target]:
    port, old_api = start_old_api(procs, workdir)
    nginx = start_nginx(procs, workdir, upstream_port=port, path=PATH)
    gaia_yaml = workdir / "gaia.yaml"
    gaia_yaml.write_text(f"functions: {{}}\nlegacy:\n  upstream: http://127.0.0.1:{port}\n")
    gateway = start_gateway(
        procs, workdir / "home", log=workdir / "gateway.log", ready_path=PATH, config=gaia_yaml
    )
    return {
        "old API": old_api,
        "nginx": nginx,
        "gaia": Target(gateway.url(PATH), (gateway.proc.pid,)),
    }


def report(results: Results, args: argparse.Namespace) -> str:
    direct32, nginx32, gaia32 = (results.c32[n] for n in ("old API", "nginx", "gaia"))
    direct1, nginx1, gaia1 = (results.c1[n] for n in ("old API", "nginx", "gaia"))
    ratio = gaia32.rps / nginx32.rps
    added = gaia1.p50_ms - direct1.p50_ms
    rows = [
        (
            "requests/s, 32 connections",
            f"{direct32.rps:,.0f}",
            f"{nginx32.rps:,.0f}",
            f"{gaia32.rps:,.0f}",
            f"{ratio:.2f}x nginx",
            f"≥ {RATIO_TARGET}x",
            verdict(ratio >= RATIO_TARGET),
        ),
        (
            "p50, 1 connection (ms)",
            f"{direct1.p50_ms:.3f}",
            f"{nginx1.p50_ms:.3f} (+{nginx1.p50_ms - direct1.p50_ms:.3f})",
            f"{gaia1.p50_ms:.3f}",
            f"+{added:.3f} ms",
            f"≤ +{ADDED_P50_TARGET_MS} ms",
            verdict(added <= ADDED_P50_TARGET_MS),
        ),
        (
            "CPU µs/request, 32 connections (the server named)",
            f"{results.cpu_us['old API']:.0f}",
            f"{results.cpu_us['nginx']:.0f}",
            f"{results.cpu_us['gaia']:.0f}",
            "-",
            "-",
            "-",
        ),
        (
            "p99, 32 connections (ms)",
            f"{direct32.p99_ms:.3f}",
            f"{nginx32.p99_ms:.3f}",
            f"{gaia32.p99_ms:.3f}",
            "-",
            "-",
            "-",
        ),
    ]
    table = markdown_table(
        ("metric", "old API direct", "nginx", "gaia", "gaia", "target", "met?"),
        ("---", "---:", "---:", "---:", "---:", "---", "---"),
        rows,
    )
    errors = sum(r.errors for r in (*results.c32.values(), *results.c1.values()))
    notes = [
        *where(results.load_before, results.load_after),
        f"Load: `{shlex.join(wrk_command('URL', 32, args.duration))}` (and `-c1`),"
        f" alternating old API / nginx / gaia, {args.repeat} run(s) each after a"
        f" {WARMUP_S}s warm-up; medians; {errors} errors.",
        "Old API: tests/legacy/oldapi.py `GET /hello` on uvicorn (httptools, uvloop), one"
        " process; nginx: one worker, tests/legacy/proxy/nginx.py's block; gaia: `python -m"
        " gateway up` with `legacy.upstream` only, access log to a file. CPU µs/request:"
        " the user+system time of that server's processes (nginx: master and worker; not"
        " the old API behind the proxies) over a run, per request wrk counted.",
    ]
    return table + "\n\n" + "\n".join(f"- {n}" for n in notes)


# --- --shadow: the same route in state shadow beside state legacy -----------------------


@dataclass(frozen=True)
class Phase:
    """The legacy and shadow runs at one number of connections."""

    results: dict[str, WrkResult]
    cpu_us: dict[str, float]
    # Per shadow run: copies compared, dropped (the queue was full) and skipped (over
    # shadow.rate).
    copies: list[Copies]
    # Each round's (legacy, shadow): a busy machine makes rounds uneven, and a round's
    # two runs are minutes closer than the medians' runs may be.
    rounds: list[tuple[WrkResult, WrkResult]]
    cpu_rounds: list[tuple[float, float]]
    # Per state, the medians of each process's CPU µs/request (PARTS) and of the workers'
    # thread switches a second.
    parts: dict[str, dict[str, float]]


@dataclass(frozen=True)
class ShadowResults:
    c32: Phase
    c1: Phase
    load_before: float
    load_after: float


# What the shadow runs' CPU time is split into: the processes that share the cores.
PARTS = ("gateway process", "its workers", "old API")
SWITCHES = "worker thread switches/s"


@dataclass(frozen=True)
class Usage:
    """CPU ticks of the gateway's process, of its workers and of the old API, and the
    workers' thread switches (voluntary and not), at one moment."""

    ticks: dict[str, int]
    switches: int

    @staticmethod
    def now(gateway: Gateway, old_api: Target) -> Usage:
        own = read_stat(gateway.proc.pid)
        gateway_ticks = own.cpu_ticks if own is not None else 0
        workers = [stat.pid for stat in descendants(gateway.proc.pid)]
        return Usage(
            ticks={
                "gateway process": gateway_ticks,
                "its workers": family_cpu_ticks(gateway.proc.pid) - gateway_ticks,
                "old API": old_api.cpu_ticks(),
            },
            switches=sum(map(thread_switches, workers)),
        )


def thread_switches(pid: int) -> int:
    """Context switches of every thread of `pid` so far (0 once it is gone)."""
    total = 0
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for line in (task / "status").read_text().splitlines():
                if "ctxt_switches:" in line:
                    total += int(line.split(":")[1])
    except (OSError, ValueError):
        return total
    return total


def start_shadowed(
    procs: Processes, workdir: Path, rate: float, *, noise_sample: float | None = None
) -> tuple[Gateway, Target, Target]:
    """The old API and a gaia with /hello in the ledger (state legacy); `noise_sample`
    None leaves gaia's default."""
    port, old_api = start_old_api(procs, workdir)
    (workdir / "fn").mkdir()
    (workdir / "fn" / "main.py").write_text(FUNCTION)
    gaia_yaml = workdir / "gaia.yaml"
    noise = "" if noise_sample is None else f", noise_sample: {noise_sample}"
    gaia_yaml.write_text(
        "functions:\n  hello: {code: ./fn, handler: main.handler}\n"
        f"legacy:\n  upstream: http://127.0.0.1:{port}\n  shadow: {{rate: {rate}{noise}}}\n"
        f"  routes:\n    - {{path: {PATH}, methods: [GET], function: hello, state: legacy}}\n"
    )
    gateway = start_gateway(
        procs, workdir / "home", log=workdir / "gateway.log", ready_path=PATH, config=gaia_yaml
    )
    return gateway, Target(gateway.url(PATH), (gateway.proc.pid,)), old_api


def evidence(gateway: Gateway) -> dict[str, object]:
    status = gateway.admin_json("GET", "/v1/migrate")
    route = next(r for r in status["routes"] if r["path"] == PATH)
    found: dict[str, object] = route["evidence"]
    return found


def set_state(gateway: Gateway, state: str) -> None:
    gateway.admin_json("POST", "/v1/migrate/routes/state", {"path": PATH, "state": state})


@dataclass(frozen=True)
class Copies:
    compared: int
    dropped: int
    skipped: int

    def describe(self) -> str:
        return f"copies {self.compared} compared, {self.skipped} skipped, {self.dropped} dropped"

    def since(self, earlier: Copies) -> Copies:
        return Copies(
            compared=self.compared - earlier.compared,
            dropped=self.dropped - earlier.dropped,
            skipped=self.skipped - earlier.skipped,
        )


def copies_now(gateway: Gateway) -> Copies:
    """The shadow window's copies so far (a route kept in state shadow keeps its window)."""
    seen = evidence(gateway)
    return Copies(
        compared=int(str(seen["samples"])),
        dropped=int(str(seen["shadow_dropped"])),
        skipped=int(str(seen["shadow_skipped"])),
    )


def settled_copies(gateway: Gateway) -> Copies:
    """The shadow window's copies once the queue is done (the counts hold still)."""
    last: list[Copies] = []

    def still() -> Copies | None:
        now = copies_now(gateway)
        held = bool(last) and last[-1] == now
        last.append(now)
        time.sleep(0.5)
        return now if held else None

    return wait_until(still, timeout_s=120, what="the shadow copies to be done")


def run_states(
    gateway: Gateway,
    target: Target,
    old_api: Target,
    *,
    connections: int,
    duration_s: int,
    repeat: int,
) -> Phase:
    runs: dict[str, list[WrkResult]] = {state: [] for state in STATES}
    cpu: dict[str, list[float]] = {state: [] for state in STATES}
    parts: dict[str, dict[str, list[float]]] = {
        state: {part: [] for part in (*PARTS, SWITCHES)} for state in STATES
    }
    copies: list[Copies] = []
    tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
    for round_no in range(1, repeat + 1):
        # Each state goes first in every other round: a run right after a state change
        # and the other's run must not always fall to the same state.
        for state in STATES if round_no % 2 else STATES[::-1]:
            set_state(gateway, state)
            counted = copies_now(gateway)
            before = target.cpu_ticks()
            usage = Usage.now(gateway, old_api)
            started = time.monotonic()
            result = run_wrk(target.url, connections=connections, duration_s=duration_s)
            switches = Usage.now(gateway, old_api).switches - usage.switches
            parts[state][SWITCHES].append(switches / (time.monotonic() - started))
            # The copies are the shadow state's cost too: counted before the next run. The
            # legacy state waits the same way, so that both are charged the same polling.
            settled = settled_copies(gateway).since(counted)
            used = (target.cpu_ticks() - before) * tick_us / max(result.requests, 1)
            after = Usage.now(gateway, old_api)
            for part in PARTS:
                spent = after.ticks[part] - usage.ticks[part]
                parts[state][part].append(spent * tick_us / max(result.requests, 1))
            extra = ""
            if state == "shadow":
                copies.append(settled)
                extra = f"  {settled.describe()}"
            progress(f"  c{connections} run {round_no}/{repeat} {state:<7} {result.describe()}"
                     f"  {used:.0f} CPU µs/request{extra}")  # fmt: skip
            runs[state].append(result)
            cpu[state].append(used)
    medians = {state: median_result(results) for state, results in runs.items()}
    return Phase(
        results=medians,
        cpu_us={state: statistics.median(v) for state, v in cpu.items()},
        copies=copies,
        rounds=list(zip(runs["legacy"], runs["shadow"], strict=True)),
        cpu_rounds=list(zip(cpu["legacy"], cpu["shadow"], strict=True)),
        parts={
            state: {part: statistics.median(v) for part, v in measured.items()}
            for state, measured in parts.items()
        },
    )


def run_shadow(args: argparse.Namespace, procs: Processes, workdir: Path) -> ShadowResults:
    load_before = os.getloadavg()[0]
    progress(f"load average (1 min) before: {load_before:.2f}; starting the servers")
    gateway, target, old_api = start_shadowed(procs, workdir, args.rate)
    for state in STATES:  # the function's pool warms in the shadow run
        set_state(gateway, state)
        warm_up({state: target.url}, WARMUP_S)
    settled_copies(gateway)
    progress(f"phase: 32 connections, {args.duration}s x {args.repeat}")
    runs = {"duration_s": args.duration, "repeat": args.repeat}
    c32 = run_states(gateway, target, old_api, connections=32, **runs)
    progress(f"phase: 1 connection, {args.duration}s x {args.repeat}")
    c1 = run_states(gateway, target, old_api, connections=1, **runs)
    return ShadowResults(
        c32=c32,
        c1=c1,
        load_before=load_before,
        load_after=os.getloadavg()[0],
    )


def report_shadow(results: ShadowResults, args: argparse.Namespace) -> str:
    legacy32, shadow32 = results.c32.results["legacy"], results.c32.results["shadow"]
    legacy1, shadow1 = results.c1.results["legacy"], results.c1.results["shadow"]
    cpu_us = results.c32.cpu_us
    rps_ratio = shadow32.rps / legacy32.rps
    p50_ratio = shadow1.p50_ms / legacy1.p50_ms

    def copies(runs: list[Copies]) -> str:
        compared, skipped, dropped = (
            statistics.median(getattr(c, name) for c in runs)
            for name in ("compared", "skipped", "dropped")
        )
        return f"{compared:,.0f} / {skipped:,.0f} / {dropped:,.0f}"

    rows = [
        (
            "requests/s, 32 connections",
            f"{legacy32.rps:,.0f}",
            f"{shadow32.rps:,.0f}",
            f"{rps_ratio:.3f}",
            f"≥ {1 - SHADOW_OVERHEAD_TARGET:.2f}",
            verdict(rps_ratio >= 1 - SHADOW_OVERHEAD_TARGET),
        ),
        (
            "p50, 1 connection (ms)",
            f"{legacy1.p50_ms:.3f}",
            f"{shadow1.p50_ms:.3f}",
            f"{p50_ratio:.3f}",
            f"≤ {1 + SHADOW_OVERHEAD_TARGET:.2f}",
            verdict(p50_ratio <= 1 + SHADOW_OVERHEAD_TARGET),
        ),
        (
            "CPU µs/request, 32 connections (gateway and its workers)",
            f"{cpu_us['legacy']:.0f}",
            f"{cpu_us['shadow']:.0f}",
            f"{cpu_us['shadow'] / cpu_us['legacy']:.2f}",
            "-",
            "-",
        ),
        *(
            (
                f"CPU µs/request, 32 connections: {part}",
                f"{results.c32.parts['legacy'][part]:.1f}",
                f"{results.c32.parts['shadow'][part]:.1f}",
                "-",
                "-",
                "-",
            )
            for part in PARTS
        ),
        (
            f"{SWITCHES}, 32 connections",
            f"{results.c32.parts['legacy'][SWITCHES]:,.0f}",
            f"{results.c32.parts['shadow'][SWITCHES]:,.0f}",
            "-",
            "-",
            "-",
        ),
        (
            "p99, 32 connections (ms)",
            f"{legacy32.p99_ms:.3f}",
            f"{shadow32.p99_ms:.3f}",
            "-",
            "-",
            "-",
        ),
        (
            "copies compared / skipped / dropped per shadow run, 32 connections",
            "-",
            copies(results.c32.copies),
            "-",
            "-",
            "-",
        ),
        (
            "copies compared / skipped / dropped per shadow run, 1 connection",
            "-",
            copies(results.c1.copies),
            "-",
            "-",
            "-",
        ),
    ]
    table = markdown_table(
        ("metric", "legacy", "shadow", "shadow / legacy", "target", "met?"),
        ("---", "---:", "---:", "---:", "---", "---"),
        rows,
    )
    phases = (results.c32, results.c1)
    errors = sum(r.errors for phase in phases for r in phase.results.values())

    def paired(ratios: list[float]) -> str:
        listed = ", ".join(f"{r:.2f}" for r in ratios)
        return f"{listed} (median {statistics.median(ratios):.3f})"

    notes = [
        *where(results.load_before, results.load_after),
        "Round by round, shadow / legacy of the same round: requests/s at 32 connections "
        + paired([shadow.rps / legacy.rps for legacy, shadow in results.c32.rounds])
        + "; p50 at 1 connection "
        + paired([shadow.p50_ms / legacy.p50_ms for legacy, shadow in results.c1.rounds])
        + "; CPU µs/request at 32 connections "
        + paired([shadow / legacy for legacy, shadow in results.c32.cpu_rounds])
        + ".",
        f"Load: `{shlex.join(wrk_command('URL', 32, args.duration))}` (and `-c1`) on gaia's"
        f" `{PATH}`, alternating its ledger route's state legacy / shadow, {args.repeat}"
        f" run(s) each after a {WARMUP_S}s warm-up in each state; medians; {errors} errors.",
        f"Shadow settings: rate {args.rate:g} copies/s per route (default 10), the"
        " defaults for the rest (queue 1000, concurrency 8, noise_sample 0.1);"
        " each shadow run's copies are done before the next run starts, and their CPU"
        " time is in that run's CPU µs/request.",
    ]
    return table + "\n\n" + "\n".join(f"- {n}" for n in notes)


def where(load_before: float, load_after: float) -> list[str]:
    """The report's first notes: the command and the machine, with its load."""
    return [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; load average (1 min) {load_before:.2f} before,"
        f" {load_after:.2f} after.",
    ]


def runs_parser(prog: str, description: str, *, duration_s: int) -> argparse.ArgumentParser:
    """A parser with `--duration` and `--repeat`, which `checked_runs` checks."""
    parser = argparse.ArgumentParser(prog=f"python -m {prog}", description=description)
    parser.add_argument("--duration", type=int, default=duration_s, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs of each")
    return parser


def checked_runs(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.duration < 1 or args.repeat < 1:
        parser.error("--duration and --repeat must be at least 1")
    return args


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = runs_parser(
        "bench.legacy_proxy",
        "gaia's legacy proxy beside nginx before the same old API.",
        duration_s=10,
    )
    parser.add_argument(
        "--shadow",
        action="store_true",
        help="the route in state shadow beside state legacy, instead of gaia beside nginx",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=10.0,
        help="with --shadow: shadow.rate, the copies a second (default 10, gaia's default)",
    )
    return checked_runs(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.shadow:
        return run_script(
            "bench.legacy_proxy",
            lambda procs, workdir: report_shadow(run_shadow(args, procs, workdir), args),
        )
    return run_script(
        "bench.legacy_proxy",
        lambda procs, workdir: report(measure(args, procs, workdir, start_all), args),
    )


if __name__ == "__main__":
    sys.exit(main())
