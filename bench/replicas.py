"""Requests/s of two gateway replicas behind nginx beside one, in one run.

    python -m bench.replicas [--duration 5] [--repeat 5]

One redis-server is the shared store (GAIA_STORE) of two gateways: the first applies a
gaia.yaml serving examples/hello (a Python function) on `/hello/{name}`, the second
starts from the store alone. Before them, two nginx (one worker each, the README's
load-balancer block): one with the first replica as its only upstream, one with both.
wrk at 32 connections alternates over three targets `--repeat` times after a warm-up:
one replica directly, one behind nginx, two behind nginx; medians.

Printed per target: requests/s and its ratio to one replica behind nginx, p50/p99, and
CPU µs per request of everything serving it (nginx, the gateways and their workers,
redis-server); and the share of the two-replica requests the second one served.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

from bench.balancer import write_balancer
from bench.common import (
    REPO,
    BenchError,
    Gateway,
    Processes,
    footer,
    free_port,
    markdown_table,
    progress,
    run_script,
    start_gateway,
    wait_serving,
)
from bench.cron import start_redis
from bench.hot_path import warm_up
from bench.side_by_side import Target, compare_with_cpu
from tests.legacy.proxy.nginx import nginx_argv

HELLO_DIR = REPO / "examples" / "hello"
PATH = "/hello/bench"
WARMUP_S = 2
ONE, NGINX_ONE, NGINX_TWO = "one replica", "one behind nginx", "two behind nginx"
_INVOCATIONS = re.compile(
    r'^gateway_function_invocation_total\{[^}]*code="200"[^}]*\} (\S+)$', re.M
)


def write_config(workdir: Path) -> Path:
    config = workdir / "gaia.yaml"
    config.write_text(
        f"""
functions:
  hello:
    code: {HELLO_DIR}
    triggers:
      - http: {{path: "/hello/{{name}}"}}
"""
    )
    return config


def start_nginx(procs: Processes, workdir: Path, name: str, upstreams: list[int]) -> Target:
    port = free_port()
    prefix = workdir / name
    config = write_balancer(prefix, port=port, upstreams=upstreams)
    nginx = procs.spawn(name, nginx_argv(prefix, config), log=prefix / "out.log", env=os.environ)
    url = f"http://127.0.0.1:{port}{PATH}"
    wait_serving(nginx, url)
    return Target(url, (nginx.pid,))


def answered(gateway: Gateway) -> float:
    """Requests the gateway answered 200 so far, from its /metrics."""
    reply = gateway.admin("GET", "/metrics")
    return sum(float(count) for count in _INVOCATIONS.findall(reply.body.decode()))


def body(args: argparse.Namespace, procs: Processes, workdir: Path) -> str:
    load_before = os.getloadavg()[0]
    progress(f"load average (1 min) before: {load_before:.2f}; starting redis and two replicas")
    redis_url = start_redis(procs, workdir)
    redis_pid = next(p.pid for p in procs.running if p.name == "redis-server")
    first = start_gateway(
        procs,
        workdir / "a",
        log=workdir / "a.log",
        ready_path=PATH,
        config=write_config(workdir),
        env={"GAIA_STORE": redis_url, "GAIA_REPLICA": "a"},
    )
    second = start_gateway(
        procs,
        workdir / "b",
        log=workdir / "b.log",
        ready_path=PATH,
        env={"GAIA_STORE": redis_url, "GAIA_REPLICA": "b"},
    )
    one = start_nginx(procs, workdir, "nginx-one", [first.port])
    two = start_nginx(procs, workdir, "nginx-two", [first.port, second.port])
    a, b = first.proc.pid, second.proc.pid
    targets = {
        ONE: Target(first.url(PATH), (a, redis_pid)),
        NGINX_ONE: Target(one.url, (*one.pids, a, redis_pid)),
        NGINX_TWO: Target(two.url, (*two.pids, a, b, redis_pid)),
    }
    warm_up({name: t.url for name, t in targets.items()}, WARMUP_S)
    progress(f"phase: 32 connections, {args.duration}s x {args.repeat}, alternating")
    served_before = answered(first), answered(second)
    results, cpu_us = compare_with_cpu(targets, duration_s=args.duration, repeat=args.repeat)
    on_first = answered(first) - served_before[0]
    on_second = answered(second) - served_before[1]
    failed = {name: r.errors for name, r in results.items() if r.errors}
    if failed:
        raise BenchError(f"failed requests: {failed}")
    # The second replica serves only the two-replica runs; the first serves all three.
    share = on_second / max(results[NGINX_TWO].requests, 1)
    base = results[NGINX_ONE].rps
    rows = [
        [
            name,
            f"{r.rps:,.0f}",
            f"{r.rps / base:.2f}x",
            f"{r.p50_ms:.2f} / {r.p99_ms:.2f}",
            f"{cpu_us[name]:.0f}",
        ]
        for name, r in results.items()
    ]
    table = markdown_table(
        ["32 connections", "requests/s", "vs one behind nginx", "p50 / p99 (ms)", "CPU µs/request"],
        ["---", "---:", "---:", "---:", "---:"],
        rows,
    )
    return "\n".join(
        [
            "",
            table,
            "",
            f"two replicas / one, both behind nginx: {results[NGINX_TWO].rps / base:.2f}x"
            f" requests/s; the second replica served {share:.0%} of the two-replica requests"
            f" ({on_first + on_second:,.0f} answered 200 in all)",
            *footer(load_before),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replicas", description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=5, help="alternating runs per target")
    args = parser.parse_args(argv)
    return run_script("bench.replicas", lambda procs, workdir: body(args, procs, workdir))


if __name__ == "__main__":
    sys.exit(main())
