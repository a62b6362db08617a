"""An ASGI app as an `interface: asgi` function beside the same app on bare uvicorn, in one run.

    python -m bench.asgi_app [--duration 10] [--repeat 3]

The app is bench/apps/asgi_hello/main.py: one Starlette route, `GET /hello` answering
`hello` as text/plain. Bare, it runs on uvicorn (httptools, uvloop, one process, no
access log); through gaia it is a function with `interface: asgi`, `handler: main:app`,
in a pool of exactly one worker (`pool: {min: 1, max: 1}`) taking up to CONCURRENCY
requests at a time, more than the benchmark sends, so the pool never queues: one
process runs the app on either side, and the gateway in front is the difference. wrk
runs alternate over the two, `--repeat` times after a warm-up, at 32 connections and
then at 1; medians. It prints requests/s at 32 connections with gaia's ratio (target
≥ 0.8x), p50 at 1 connection, the CPU time per request of each side's processes (gaia's
also split into the gateway process and its workers: the gateway relays each request
to the app's own server in the worker, and the busier of the two bounds the rate), and
the load average before and after, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import (
    REPO,
    Processes,
    command_line,
    family_cpu_ticks,
    free_port,
    machine,
    markdown_table,
    progress,
    read_stat,
    run_script,
    sandbox,
    start_gateway,
    verdict,
    wait_serving,
    wrk_command,
)
from bench.side_by_side import WARMUP_S, Results, Target, measure, parse_args

APP_DIR = REPO / "bench" / "apps" / "asgi_hello"
PATH = "/hello"
# Requests the one worker takes at once: above the 32 connections, so its slots are
# never what a request waits for (the app runs on one event loop either way).
CONCURRENCY = 64
RATIO_TARGET = 0.8
COLUMNS = ("uvicorn", "gaia")

GAIA_YAML = f"""\
functions:
  hello:
    code: ./app
    interface: asgi
    handler: main:app
    concurrency: {CONCURRENCY}
    pool: {{min: 1, max: 1}}
    triggers:
      - http: {{path: {PATH}}}
"""


@dataclass(frozen=True)
class SplitTarget(Target):
    """The gateway and its workers, whose CPU is also told apart: each reading of the
    family's ticks notes the gateway process's own beside it."""

    readings: list[tuple[int, int]] = field(default_factory=list)

    def cpu_ticks(self) -> int:
        (pid,) = self.pids
        family = family_cpu_ticks(pid)
        stat = read_stat(pid)
        self.readings.append((family, stat.cpu_ticks if stat is not None else 0))
        return family

    def gateway_share(self) -> float:
        """The gateway's part of the CPU its family used over the runs at 32 connections
        (readings in before/after pairs; the runs at 1 connection read none)."""
        pairs = zip(self.readings[::2], self.readings[1::2], strict=True)
        family = own = 0
        for (family_before, own_before), (family_after, own_after) in pairs:
            family += family_after - family_before
            own += own_after - own_before
        return own / max(family, 1)


def uvicorn_command(app_dir: Path | str, port: int | str) -> list[str]:
    return [
        sys.executable,
        *("-m", "uvicorn", "main:app", "--app-dir", str(app_dir)),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--loop", "uvloop", "--http", "httptools", "--no-access-log"),
        *("--log-level", "warning"),
    ]


def code_dir(workdir: Path) -> Path:
    """The app's code with a requirements.txt naming the Starlette this machine has,
    which the gateway installs into the revision (the worker sees no other packages)."""
    code = workdir / "app"
    shutil.copytree(APP_DIR, code, ignore=shutil.ignore_patterns("__pycache__"))
    version = importlib.metadata.version("starlette")
    (code / "requirements.txt").write_text(f"starlette=={version}\n")
    return code


def start_all(procs: Processes, workdir: Path) -> dict[str, Target]:
    code = code_dir(workdir)
    port = free_port()
    bare = procs.spawn("uvicorn", uvicorn_command(code, port), log=workdir / "uvicorn.log",
                       env=os.environ)  # fmt: skip
    bare_url = f"http://127.0.0.1:{port}{PATH}"
    wait_serving(bare, bare_url)
    gaia_yaml = workdir / "gaia.yaml"
    gaia_yaml.write_text(GAIA_YAML)
    progress("starting the gateway (it installs Starlette into the revision first)")
    gateway = start_gateway(
        procs, workdir / "home", log=workdir / "gateway.log", ready_path=PATH, config=gaia_yaml
    )
    return {
        "uvicorn": Target(bare_url, (bare.pid,)),
        "gaia": SplitTarget(gateway.url(PATH), (gateway.proc.pid,)),
    }


def report(results: Results, args: argparse.Namespace, gaia: SplitTarget) -> str:
    bare32, gaia32 = (results.c32[n] for n in COLUMNS)
    bare1, gaia1 = (results.c1[n] for n in COLUMNS)
    ratio = gaia32.rps / bare32.rps
    cpu = results.cpu_us
    gateway_us = gaia.gateway_share() * cpu["gaia"]
    rows = [
        ("requests/s, 32 connections", f"{bare32.rps:,.0f}", f"{gaia32.rps:,.0f}",
         f"{ratio:.2f}x", f"≥ {RATIO_TARGET}x", verdict(ratio >= RATIO_TARGET)),
        ("p50, 1 connection (ms)", f"{bare1.p50_ms:.3f}", f"{gaia1.p50_ms:.3f}",
         f"+{gaia1.p50_ms - bare1.p50_ms:.3f} ms", "-", "-"),
        ("CPU µs/request, 32 connections", f"{cpu['uvicorn']:.0f}", f"{cpu['gaia']:.0f}",
         f"{cpu['gaia'] / cpu['uvicorn']:.1f}x", "-", "-"),
        ("of which the gateway process", "-", f"{gateway_us:.0f}",
         f"{gateway_us / cpu['uvicorn']:.1f}x", "-", "-"),
        ("of which the workers", "-", f"{cpu['gaia'] - gateway_us:.0f}",
         f"{(cpu['gaia'] - gateway_us) / cpu['uvicorn']:.1f}x", "-", "-"),
        ("p99, 32 connections (ms)", f"{bare32.p99_ms:.3f}", f"{gaia32.p99_ms:.3f}",
         "-", "-", "-"),
    ]  # fmt: skip
    table = markdown_table(
        ("metric", "bare uvicorn", "gaia", "gaia / bare", "target", "met?"),
        ("---", "---:", "---:", "---:", "---", "---"),
        rows,
    )
    uvicorn = shlex.join(uvicorn_command("APP_DIR", "PORT")).replace(sys.executable, "python")
    notes = [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; load average (1 min) {results.load_before:.2f} before,"
        f" {results.load_after:.2f} after; worker sandbox: {sandbox()}.",
        f"Load: `{shlex.join(wrk_command('URL', 32, args.duration))}` (and `-c1`),"
        f" alternating bare uvicorn / gaia, {args.repeat} run(s) each after a {WARMUP_S}s"
        f" warm-up; medians; {results.errors} errors.",
        f"App: bench/apps/asgi_hello/main.py (Starlette). Bare: `{uvicorn}`; gaia: `python"
        " -m gateway up`, access log to a file, the app as an `interface: asgi` function"
        f" in one worker (concurrency {CONCURRENCY}, pool min = max = 1). CPU µs/request:"
        " the user+system time of that side's processes over a run (gaia: the gateway,"
        " the app's worker and the idle spare, then the gateway process alone and the"
        " rest), per request wrk counted.",
    ]
    return table + "\n\n" + "\n".join(f"- {n}" for n in notes)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("python -m bench.asgi_app", __doc__, argv)

    def body(procs: Processes, workdir: Path) -> str:
        started: dict[str, Target] = {}

        def start(procs: Processes, workdir: Path) -> dict[str, Target]:
            started.update(start_all(procs, workdir))
            return started

        results = measure(args, procs, workdir, start)
        gaia = started["gaia"]
        assert isinstance(gaia, SplitTarget)
        return report(results, args, gaia)

    return run_script("bench.asgi_app", body)


if __name__ == "__main__":
    sys.exit(main())
