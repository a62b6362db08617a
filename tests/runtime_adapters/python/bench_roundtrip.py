"""Measure the python runtime's hot path and cold start (not collected by pytest).

    python tests/runtime_adapters/python/bench_roundtrip.py [--calls 10000] [--no-sandbox]

Prints µs per sequential round trip (gateway -> worker -> gateway, examples/hello under
uvloop), the first-invocation latency of never-warmed revisions (a stem cell taking the
revision) and the unique memory (USS) of an idle warm worker.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import uvloop

from runtime_adapters.base import HttpRequest, Invocation, PoolSpec, RevisionSpec
from runtime_adapters.python import PythonRuntime

HELLO = Path(__file__).resolve().parents[3] / "examples" / "hello"


def uss_kib(pid: int) -> int:
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0])
    return fields["Private_Clean"] + fields["Private_Dirty"]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def spec(revision: int, concurrency: int = 8, network: bool = True) -> RevisionSpec:
    return RevisionSpec(
        function="hello",
        revision=revision,
        digest=str(revision),
        runtime="python",
        bundle_dir=HELLO,
        pool=PoolSpec(min=1, max=1),
        concurrency=concurrency,
        network=network,
    )


async def main(calls: int, sandbox: bool, colds: int, concurrency: int) -> None:
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
                await runtime.retire(spec(revision).key)
            fresh_ms = []  # network: false cannot use a stem cell: a worker boots from nothing
            for revision in range(100, 100 + max(colds // 3, 1)):
                started = time.perf_counter()
                await runtime.warm(spec(revision, network=False))
                await runtime.invoke(spec(revision).key, invocation("fresh"))
                fresh_ms.append((time.perf_counter() - started) * 1000)
                await runtime.retire(spec(revision).key)
            bench = spec(colds + 1, concurrency)
            await runtime.warm(bench)
            key = bench.key
            request = invocation("bench")
            for _ in range(500):
                await runtime.invoke(key, request)
            (info,) = runtime.instances(key)
            assert info.pid is not None
            worker_cpu = cpu_seconds(info.pid)
            cpu = time.process_time()
            clock = time.perf_counter
            latencies = []
            started = clock()
            for _ in range(calls):
                before = clock()
                await runtime.invoke(key, request)
                latencies.append(clock() - before)
            elapsed = clock() - started
            cpu = time.process_time() - cpu
            worker_cpu = cpu_seconds(info.pid) - worker_cpu
            print(f"sandbox={runtime.sandboxed}")
            latencies.sort()
            p50, p99 = latencies[calls // 2] * 1e6, latencies[calls * 99 // 100] * 1e6
            print(
                f"round trip: {elapsed / calls * 1e6:.1f} µs/call over {calls} sequential calls "
                f"(p50 {p50:.0f} µs, p99 {p99:.0f} µs)"
            )
            print(
                f"CPU per call: gateway {cpu / calls * 1e6:.1f} µs, "
                f"worker {worker_cpu / calls * 1e6:.1f} µs"
            )
            print(
                f"cold start (spare -> first reply): p50 {statistics.median(cold_ms):.1f} ms, "
                f"max {max(cold_ms):.1f} ms over {len(cold_ms)} revisions; "
                f"without a stem cell (network: false) p50 {statistics.median(fresh_ms):.0f} ms"
            )
            await asyncio.sleep(0.5)
            await runtime.spares_ready()
            spare = runtime._spares._spares[0].worker_pid()  # a private peek, for the figure
            assert spare is not None
            print(
                f"USS: idle warm worker {uss_kib(info.pid) / 1024:.1f} MiB, "
                f"idle stem cell {uss_kib(spare) / 1024:.1f} MiB"
            )
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
    parser.add_argument("--concurrency", type=int, default=8, help="of the measured revision")
    parser.add_argument("--no-sandbox", action="store_true")
    args = parser.parse_args()
    uvloop.run(main(args.calls, not args.no_sandbox, args.colds, args.concurrency))
