"""A container function through the gateway beside nginx before the same instance, in one run.

    python -m bench.container [--duration 10] [--repeat 3]

`gaia up` runs one `runtime: container` function: a Node.js server
(bench/apps/node_hello/server.js, `GET /hello` answers `hello`, text/plain) in its
bubblewrap sandbox, in a pool of exactly one instance (`pool: {min: 1, max: 1}`) taking
up to CONCURRENCY requests at a time, more than the benchmark ever sends, so the pool
never queues and never starts a second instance. The benchmark asks that instance its
port (`GET /port` through the gateway) and starts nginx before it (one worker, the
reverse-proxy block of tests/legacy/proxy/nginx.py), so three URLs reach the very same
process: the instance directly, through nginx, and through gaia. wrk runs alternate over
the three, `--repeat` times after a warm-up, at 32 connections and then at 1; medians.

It prints requests/s at 32 connections with gaia's ratio to nginx (target ≥ 0.7x), p50 at
1 connection with the latency each proxy adds over the instance directly (target for
gaia ≤ 0.3 ms), each proxy's own CPU time per request (the instance's excluded), and
the machine's load average before and after, since the machine may be shared.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    REPO,
    BenchError,
    Gateway,
    Processes,
    command_line,
    descendants,
    http_request,
    machine,
    markdown_table,
    read_stat,
    run_script,
    sandbox,
    start_gateway,
    verdict,
    wrk_command,
)
from bench.legacy_proxy import start_nginx
from bench.side_by_side import WARMUP_S, Results, Target, measure, parse_args

APP_DIR = REPO / "bench" / "apps" / "node_hello"
PATH = "/hello"
# Requests one instance takes at once: above the 32 connections, so the pool's slots
# are never what a request waits for (the instance is one Node.js process either way).
CONCURRENCY = 64
RATIO_TARGET = 0.7
ADDED_P50_TARGET_MS = 0.3
COLUMNS = ("instance", "nginx", "gaia")

GAIA_YAML = f"""\
functions:
  hello:
    runtime: container
    code: ./app
    command: [node, server.js]
    concurrency: {CONCURRENCY}
    pool: {{min: 1, max: 1}}
    triggers:
      - http: {{path: {PATH}}}
      - http: {{path: /port}}
"""


@dataclass(frozen=True)
class GatewayTarget(Target):
    """The gateway's processes without the instance's: its CPU is counted under the
    instance's own column, which is the same process for all three."""

    instance: int = 0

    def cpu_ticks(self) -> int:
        excluded = {self.instance, *(s.pid for s in descendants(self.instance))}
        family = [pid for root in self.pids for pid in (root, *(s.pid for s in descendants(root)))]
        stats = (read_stat(pid) for pid in family if pid not in excluded)
        return sum(stat.cpu_ticks for stat in stats if stat is not None)


def instance_root(gateway: Gateway, port: int) -> int:
    """The pid of the outermost process of the instance serving `port` (prlimit, which
    becomes bwrap): the child of the gateway whose bwrap arguments set that PORT."""
    wanted = b"\0--setenv\0PORT\0%d\0" % port
    for stat in descendants(gateway.proc.pid):
        if stat.ppid != gateway.proc.pid:
            continue
        try:
            argv = Path(f"/proc/{stat.pid}/cmdline").read_bytes()
        except OSError:
            continue
        if wanted in b"\0" + argv:
            return stat.pid
    raise BenchError(f"no process under the gateway serves port {port}")


def start_all(procs: Processes, workdir: Path) -> dict[str, Target]:
    shutil.copytree(APP_DIR, workdir / "app")
    gaia_yaml = workdir / "gaia.yaml"
    gaia_yaml.write_text(GAIA_YAML)
    gateway = start_gateway(
        procs, workdir / "home", log=workdir / "gateway.log", ready_path=PATH, config=gaia_yaml
    )
    answer = http_request(gateway.url("/port"))
    if answer.status != 200 or not answer.body.isdigit():
        raise BenchError(f"GET /port through the gateway: {answer.status} {answer.body!r}")
    port = int(answer.body)
    direct = f"http://127.0.0.1:{port}{PATH}"
    nginx = start_nginx(procs, workdir, upstream_port=port, path=PATH)
    instance = instance_root(gateway, port)
    return {
        "instance": Target(direct, (instance,)),
        "nginx": nginx,
        "gaia": GatewayTarget(gateway.url(PATH), (gateway.proc.pid,), instance=instance),
    }


def report(results: Results, args: argparse.Namespace) -> str:
    direct32, nginx32, gaia32 = (results.c32[n] for n in COLUMNS)
    direct1, nginx1, gaia1 = (results.c1[n] for n in COLUMNS)
    ratio = gaia32.rps / nginx32.rps
    added = gaia1.p50_ms - direct1.p50_ms
    cpu = results.cpu_us
    rows = [
        ("requests/s, 32 connections", f"{direct32.rps:,.0f}", f"{nginx32.rps:,.0f}",
         f"{gaia32.rps:,.0f}", f"{ratio:.2f}x nginx", f"≥ {RATIO_TARGET}x",
         verdict(ratio >= RATIO_TARGET)),
        ("p50, 1 connection (ms)", f"{direct1.p50_ms:.3f}",
         f"{nginx1.p50_ms:.3f} (+{nginx1.p50_ms - direct1.p50_ms:.3f})", f"{gaia1.p50_ms:.3f}",
         f"+{added:.3f} ms", f"≤ +{ADDED_P50_TARGET_MS} ms",
         verdict(added <= ADDED_P50_TARGET_MS)),
        ("CPU µs/request, 32 connections (the server named)", f"{cpu['instance']:.0f}",
         f"{cpu['nginx']:.0f}", f"{cpu['gaia']:.0f}", "-", "-", "-"),
        ("p99, 32 connections (ms)", f"{direct32.p99_ms:.3f}", f"{nginx32.p99_ms:.3f}",
         f"{gaia32.p99_ms:.3f}", "-", "-", "-"),
    ]  # fmt: skip
    table = markdown_table(
        ("metric", "instance direct", "nginx", "gaia", "gaia", "target", "met?"),
        ("---", "---:", "---:", "---:", "---:", "---", "---"),
        rows,
    )
    notes = [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; load average (1 min) {results.load_before:.2f} before,"
        f" {results.load_after:.2f} after; instance sandbox: {sandbox()}.",
        f"Load: `{shlex.join(wrk_command('URL', 32, args.duration))}` (and `-c1`),"
        f" alternating instance / nginx / gaia, {args.repeat} run(s) each after a"
        f" {WARMUP_S}s warm-up; medians; {results.errors} errors.",
        "Instance: bench/apps/node_hello/server.js on Node.js, the one instance of a"
        f" `runtime: container` function (concurrency {CONCURRENCY}, pool min = max = 1)"
        " started by the gateway; nginx: one worker, tests/legacy/proxy/nginx.py's block,"
        " before that instance's port; gaia: `python -m gateway up`, access log to a file."
        " CPU µs/request: the user+system time of that server's processes over a run, per"
        " request wrk counted (nginx: master and worker; gaia: the gateway and its Python"
        " spare, not the instance).",
    ]
    return table + "\n\n" + "\n".join(f"- {n}" for n in notes)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args("python -m bench.container", __doc__, argv)
    if shutil.which("node") is None:
        print("bench.container: node is not on PATH (Debian: apt-get install nodejs)",
              file=sys.stderr)  # fmt: skip
        return 2

    def body(procs: Processes, workdir: Path) -> str:
        return report(measure(args, procs, workdir, start_all), args)

    return run_script("bench.container", body)


if __name__ == "__main__":
    sys.exit(main())
