"""Measure the python runtime's hot path and cold start (not collected by pytest).

    python tests/runtime_adapters/python/bench_roundtrip.py [--calls 10000] [--no-sandbox]

Prints µs per sequential round trip (gateway -> worker -> gateway, examples/hello under
uvloop), the first-invocation latency of never-warmed revisions (a stem cell taking the
revision) and the unique memory (USS) of an idle warm worker.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import uvloop

from runtime_adapters.base import HttpRequest, Invocation, PoolSpec, RevisionSpec
from runtime_adapters.python import PythonRuntime

CONCURRENCY = 8
HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"


def uss_kib(pid: int) -> int:
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0])
    return fields["Private_Clean"] + fields["Private_Dirty"]


def spec(revision: int) -> RevisionSpec:
    return RevisionSpec(
        function="hello",
        revision=revision,
        digest=str(revision),
        runtime="python",
        bundle_dir=HELLO,
        pool=PoolSpec(min=1, max=1),
        concurrency=CONCURRENCY,
    )


async def main(calls: int, sandbox: bool, colds: int) -> None:
    with tempfile.TemporaryDirectory() as state:
        runtime = PythonRuntime(Path(state), sandbox=sandbox, log_sink=lambda r: None)
        try:
            await runtime.spares_ready()
            cold_ms = []
            for revision in range(1, colds + 1):
                await runtime.spares_ready()  # as in steady state: the stem cell is up
                started = time.perf_counter()
                await runtime.warm(spec(revision))
                await runtime.invoke(spec(revision).key, invocation("cold"))
                cold_ms.append((time.perf_counter() - started) * 1000)
                if revision > 1:
                    await runtime.retire(spec(revision).key)
            key = spec(1).key
            request = invocation("bench")
            for _ in range(500):
                await runtime.invoke(key, request)
            started = time.perf_counter()
            for _ in range(calls):
                await runtime.invoke(key, request)
            elapsed = time.perf_counter() - started
            (info,) = runtime.instances(key)
            assert info.pid is not None
            print(f"sandbox={runtime.sandboxed}")
            print(f"round trip: {elapsed / calls * 1e6:.1f} µs/call over {calls} sequential calls")
            print(
                f"cold start (spare -> first reply): p50 {statistics.median(cold_ms):.1f} ms, "
                f"max {max(cold_ms):.1f} ms over {len(cold_ms)} revisions"
            )
            print(f"idle warm worker USS: {uss_kib(info.pid) / 1024:.1f} MiB (pid {info.pid})")
        finally:
            await runtime.aclose()


def invocation(request_id: str) -> Invocation:
    return Invocation(
        request_id=request_id,
        trigger="http",
        alias="default",
        event=HttpRequest(
            method="GET",
            path="/hello/bench",
            query_string=b"",
            headers=[(b"host", b"localhost")],
            params={"name": "bench"},
            body=b"",
        ),
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--colds", type=int, default=15)
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()
    uvloop.run(main(args.calls, not args.no_sandbox, args.colds))
