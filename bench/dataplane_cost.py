"""The gateway's own CPU per request, in process: this tree's data plane against another's.

    python -m bench.dataplane_cost --other /work/main [--requests 20000] [--repeat 7]

wrk through real gateways measures everything a request costs (the HTTP server, the
worker, the socket round trips) on a machine whose other jobs move it by tens of percent.
This isolates what the gateway's own code does per request: the data plane's ASGI
callable (routing, the invoker, metrics, the access line and its log ring, tracing's
checks) driven directly, with an in-memory runtime answering at once, so the difference
between two checkouts is what their code adds, in µs of CPU per request. Each checkout
runs in a process of its own (PYTHONPATH), alternately, `--repeat` times; medians.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
CONFIG = """
functions:
  hello:
    code: ./hello
    triggers:
      - http: {path: "/hello/{name}"}
"""


async def measure(requests: int) -> float:
    """CPU µs per request through this checkout's DataPlane (whichever is importable)."""
    from gateway.accesslog import JsonLines
    from gateway.config import parse_config
    from gateway.control import ControlPlane
    from gateway.dataplane import DataPlane
    from gateway.invoker import Invoker
    from gateway.metrics import Metrics
    from gateway.store.memory import MemoryStore
    from runtime_adapters.base import InvocationResult
    from runtime_adapters.memory import MemoryRuntime

    answer = InvocationResult(status=200, headers=[(b"content-type", b"text/plain")], body=b"hi")
    runtime = MemoryRuntime({"main.handler": lambda invocation, spec: answer})
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "hello").mkdir()
        (root / "hello" / "main.py").write_text("def handler(event, context):\n    return 'hi'\n")
        control = ControlPlane(
            store=MemoryStore(), bundles_root=root / "bundles", runtimes={"python": runtime}
        )
        await control.start()
        await control.apply(parse_config(CONFIG, file="gaia.yaml", base_dir=root))
        app = DataPlane(
            control=control,
            invoker=Invoker(control=control, metrics=Metrics()),
            access_log=JsonLines(io.BytesIO()),
        )
        scope: dict[str, Any] = {
            "type": "http",
            "method": "GET",
            "path": "/hello/bench",
            "raw_path": b"/hello/bench",
            "query_string": b"",
            "headers": [(b"host", b"127.0.0.1:8080"), (b"user-agent", b"wrk")],
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            return None

        pool = runtime.pools[next(iter(runtime.pools))]
        for _ in range(1000):  # warm caches and the snapshot's resolved targets
            await app(scope, receive, send)
        started = time.process_time()
        for n in range(requests):
            await app(scope, receive, send)
            if n % 1000 == 0:
                pool.invocations.clear()  # the fake runtime's record, not the gateway's
                await asyncio.sleep(0)  # let the batched log lines go out
        return (time.process_time() - started) / requests * 1e6


def child(requests: int) -> None:
    print(json.dumps(asyncio.run(measure(requests))))


def run_in(checkout: Path, requests: int) -> float:
    """One child process measuring `checkout`'s code: this file run as a script (so no
    package of either tree is imported for it) with `checkout` first on the path."""
    done = subprocess.run(
        [sys.executable, str(HERE), "--child", str(requests)],
        env={**os.environ, "PYTHONPATH": str(checkout)},
        cwd=checkout,
        capture_output=True,
        text=True,
        check=True,
    )
    return float(done.stdout.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dataplane_cost", description=__doc__)
    parser.add_argument("--other", help="another gaia checkout (e.g. main's)")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child)
        return 0
    from bench.common import REPO, markdown_table

    checkouts = {"this": REPO}
    if args.other:
        checkouts = {"other": Path(args.other).resolve(), **checkouts}
    runs: dict[str, list[float]] = {name: [] for name in checkouts}
    for round_no in range(1, args.repeat + 1):
        for name, checkout in checkouts.items():
            runs[name].append(run_in(checkout, args.requests))
            print(f"round {round_no} {name}: {runs[name][-1]:.2f} µs", file=sys.stderr)
    medians = {name: statistics.median(values) for name, values in runs.items()}
    base = medians.get("other", medians["this"])
    rows = [
        [name, f"{value:.2f}", f"{value - base:+.2f}", ", ".join(f"{v:.1f}" for v in runs[name])]
        for name, value in medians.items()
    ]
    print(
        markdown_table(
            ["checkout", "CPU µs/request (median)", "vs other", "runs"],
            ["---", "---:", "---:", "---"],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
