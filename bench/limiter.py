"""The rate limiter's cost on the hot path: one gateway, the same function with and
without Redis-backed rate limits, side by side in one run.

    python -m bench.limiter [--duration 5] [--repeat 3] [--limit-rps 20000]

One `gaia up` serves examples/hello twice: `/off` (function `plain`, no limits) and
`/on` (function `limited`: its alias `default` and its HTTP trigger each have a
`rate_limit` shared through a redis-server this script starts, above the load, so that
every request takes two tokens and none is refused; at 20,000/s each replica leases
batches of 200). wrk at 32 connections alternates between the two `--repeat` times
after a warm-up; medians. Printed per
side: requests/s, p50/p99, the CPU µs per request of the gateway, its workers and
redis-server together, and the Redis calls per 1,000 requests; then the ratio on/off
against the target (a cost of at most 5%).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import redis

from bench.common import (
    REPO,
    BenchError,
    Processes,
    footer,
    markdown_table,
    progress,
    run_script,
    start_gateway,
    verdict,
)
from bench.cron import start_redis
from bench.hot_path import warm_up
from bench.side_by_side import Target, compare_with_cpu
from limits.shared import LEASE_S

HELLO_DIR = REPO / "examples" / "hello"
WARMUP_S = 2
COST_TARGET = 0.05


def write_config(workdir: Path, redis_url: str, rps: float) -> Path:
    limit = f"{{rps: {rps!r}, burst: {max(1, round(rps))}, redis: {redis_url}}}"
    config = workdir / "gaia.yaml"
    config.write_text(
        f"""
functions:
  plain:
    code: {HELLO_DIR}
    triggers:
      - http: {{path: /off}}
  limited:
    code: {HELLO_DIR}
    aliases:
      default:
        rate_limit: {limit}
    triggers:
      - http: {{path: /on, rate_limit: {limit}}}
"""
    )
    return config


def redis_calls(url: str) -> int:
    """Scripts run so far (each lease of a batch of tokens is one)."""
    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return sum(
        int(value["calls"])
        for name, value in stats.items()
        if name in ("cmdstat_evalsha", "cmdstat_eval")
    )


def body(args: argparse.Namespace, procs: Processes, workdir: Path) -> str:
    load_before = os.getloadavg()[0]
    progress(f"load average (1 min) before: {load_before:.2f}; starting redis and the gateway")
    redis_url = start_redis(procs, workdir)
    redis_pid = next(p.pid for p in procs.running if p.name == "redis-server")
    gateway = start_gateway(
        procs,
        workdir / "home",
        log=workdir / "gateway.log",
        ready_path="/off",
        config=write_config(workdir, redis_url, args.limit_rps),
    )
    # redis-server's CPU counts on both sides: its idle work cancels out, and what the
    # leases cost it is part of the limiter's cost.
    pids = (gateway.proc.pid, redis_pid)
    targets = {
        "limits off": Target(gateway.url("/off"), pids),
        "limits on": Target(gateway.url("/on"), pids),
    }
    warm_up({name: t.url for name, t in targets.items()}, WARMUP_S)
    progress(f"phase: 32 connections, {args.duration}s x {args.repeat}, alternating")
    calls_before = redis_calls(redis_url)
    results, cpu_us = compare_with_cpu(targets, duration_s=args.duration, repeat=args.repeat)
    on, off = results["limits on"], results["limits off"]
    calls = redis_calls(redis_url) - calls_before
    if on.errors or off.errors:
        raise BenchError(f"failed requests: on {on.errors}, off {off.errors} (a limit refused?)")
    ratio = on.rps / off.rps
    cost = 1 - ratio
    cpu_cost = cpu_us["limits on"] - cpu_us["limits off"]
    batch = max(1, min(round(args.limit_rps), int(args.limit_rps * LEASE_S + 0.999999)))
    table = markdown_table(
        ["metric", "limits off", "limits on", "ratio / diff", "target", "met?"],
        ["---", "---:", "---:", "---:", "---", "---"],
        [
            [
                "requests/s, 32 connections",
                f"{off.rps:,.0f}",
                f"{on.rps:,.0f}",
                f"{ratio:.3f}x ({cost:+.1%} cost)".replace("+-", "-"),
                f"cost ≤ {COST_TARGET:.0%}",
                verdict(cost <= COST_TARGET),
            ],
            [
                "p50 / p99 (ms)",
                f"{off.p50_ms:.3f} / {off.p99_ms:.3f}",
                f"{on.p50_ms:.3f} / {on.p99_ms:.3f}",
                "-",
                "-",
                "-",
            ],
            [
                "CPU µs/request (gateway, workers, redis-server)",
                f"{cpu_us['limits off']:.0f}",
                f"{cpu_us['limits on']:.0f}",
                f"{cpu_cost:+.0f} µs",
                "-",
                "-",
            ],
            [
                "Redis calls per 1,000 requests",
                "0",
                f"{1000 * calls / max(on.requests, 1):.2f}",
                f"batch {batch}",
                "-",
                "-",
            ],
        ],
    )
    return "\n".join(
        [
            "",
            table,
            "",
            f"limits on: the alias's and the trigger's rate_limit, each"
            f" {{rps: {args.limit_rps:g}}} in one redis-server (two tokens per request)",
            *footer(load_before),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.limiter", description=__doc__)
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per side")
    parser.add_argument(
        "--limit-rps",
        type=float,
        default=20_000.0,
        help="each limit's rps and burst: above the load, so none is refused [20000]",
    )
    args = parser.parse_args(argv)
    return run_script("bench.limiter", lambda procs, workdir: body(args, procs, workdir))


if __name__ == "__main__":
    sys.exit(main())
