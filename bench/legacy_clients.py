"""Which HTTP client the legacy proxy uses: the candidates side by side, one upstream.

    python -m bench.legacy_clients [--duration 3] [--repeat 3] [--concurrency 32]

Each candidate (gaia's own asyncio + httptools client, aiohttp, httpx) first answers the
correctness checks the proxy needs (a chunked 1 MiB body byte for byte, HEAD without a
body, keep-alive reuse), then sends GET /hello to the old API test app
(tests/legacy/oldapi.py, its own process) from `--concurrency` tasks for `--duration`
seconds, in this process on uvloop; rounds alternate the candidates, medians are
reported. CPU µs/request is this process's CPU time per request: the client's own cost,
which on a shared machine says more than requests/s. A candidate that is not installed
is listed as such (aiohttp is no dependency of gaia: `pip install aiohttp` to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    BenchError,
    Processes,
    command_line,
    free_port,
    machine,
    markdown_table,
    progress,
    run_script,
    wait_serving,
)
from httpkit.client import HttpClient, Origin

Get = Callable[[str], Awaitable[tuple[int, bytes]]]
Head = Callable[[str], Awaitable[tuple[int, bytes, dict[str, str]]]]


@dataclass
class Candidate:
    name: str
    get: Get
    head: Head
    opened: Callable[[], int | None]
    close: Callable[[], Awaitable[None]]


async def gaia_client(base: str) -> Candidate:
    client = HttpClient(connect_timeout_s=5, read_timeout_s=30)
    origin = Origin.from_url(base)
    host = (b"host", base.removeprefix("http://").encode())

    async def get(path: str) -> tuple[int, bytes]:
        response = await client.request(origin, "GET", path.encode(), [host])
        body = await response.read(1 << 30)
        response.release()
        return response.status, body or b""

    async def head(path: str) -> tuple[int, bytes, dict[str, str]]:
        response = await client.request(origin, "HEAD", path.encode(), [host])
        body = await response.read(1 << 30)
        response.release()
        headers = {n.decode(): v.decode() for n, v in response.headers}
        return response.status, body or b"", headers

    return Candidate(
        "gaia (asyncio + httptools)", get, head, lambda: client.connections_opened, client.aclose
    )


async def aiohttp_client(base: str) -> Candidate:
    import aiohttp

    session = aiohttp.ClientSession(base, connector=aiohttp.TCPConnector(limit=0))

    async def get(path: str) -> tuple[int, bytes]:
        async with session.get(path) as response:
            return response.status, await response.read()

    async def head(path: str) -> tuple[int, bytes, dict[str, str]]:
        async with session.head(path) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, await response.read(), headers

    return Candidate("aiohttp " + aiohttp.__version__, get, head, lambda: None, session.close)


async def httpx_client(base: str) -> Candidate:
    import httpx

    client = httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=None))

    async def get(path: str) -> tuple[int, bytes]:
        response = await client.get(path)
        return response.status_code, response.content

    async def head(path: str) -> tuple[int, bytes, dict[str, str]]:
        response = await client.head(path)
        return response.status_code, response.content, dict(response.headers)

    return Candidate("httpx " + httpx.__version__, get, head, lambda: None, client.aclose)


MAKERS: dict[str, tuple[str, Callable[[str], Awaitable[Candidate]]]] = {
    "gaia": ("legacy", gaia_client),
    "aiohttp": ("aiohttp", aiohttp_client),
    "httpx": ("httpx", httpx_client),
}


async def check(candidate: Candidate) -> None:
    from tests.legacy.oldapi import pattern

    size = 1 << 20
    status, body = await candidate.get(f"/stream?size={size}&chunk=1000")
    if status != 200 or body != pattern(size):
        raise BenchError(f"{candidate.name}: chunked body wrong ({status}, {len(body)} bytes)")
    status, body, headers = await candidate.head("/items/1")
    if status != 200 or body or "content-length" not in headers:
        raise BenchError(f"{candidate.name}: HEAD answered {status} with {len(body)} body bytes")
    for _ in range(3):
        status, body = await candidate.get("/hello")
        if (status, body) != (200, b"hello"):
            raise BenchError(f"{candidate.name}: GET /hello answered {status} {body!r}")


@dataclass(frozen=True)
class Round:
    rps: float
    cpu_us: float


async def load(candidate: Candidate, concurrency: int, duration_s: float) -> Round:
    done = 0
    deadline = time.monotonic() + duration_s

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < deadline:
            status, _ = await candidate.get("/hello")
            if status != 200:
                raise BenchError(f"{candidate.name}: GET /hello answered {status}")
            done += 1

    cpu, started = time.process_time(), time.monotonic()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed, cpu_used = time.monotonic() - started, time.process_time() - cpu
    return Round(done / elapsed, cpu_used / done * 1e6)


async def measure(base: str, args: argparse.Namespace) -> tuple[dict[str, list[Round]], list[str]]:
    candidates: list[Candidate] = []
    missing: list[str] = []
    for name, (module, make) in MAKERS.items():
        if importlib.util.find_spec(module) is None:
            missing.append(name)
            continue
        candidate = await make(base)
        await check(candidate)
        progress(f"  {candidate.name}: chunked, HEAD and keep-alive checks passed")
        candidates.append(candidate)
    rounds: dict[str, list[Round]] = {c.name: [] for c in candidates}
    for number in range(1, args.repeat + 1):
        for candidate in candidates:
            result = await load(candidate, args.concurrency, args.duration)
            opened = candidate.opened()
            conns = f", {opened} connections opened so far" if opened is not None else ""
            progress(
                f"  round {number}/{args.repeat} {candidate.name:<28} {result.rps:>8,.0f} req/s"
                f"  {result.cpu_us:6.1f} CPU µs/request{conns}"
            )
            rounds[candidate.name].append(result)
    for candidate in candidates:
        await candidate.close()
    return rounds, missing


def body(procs: Processes, workdir: Path, args: argparse.Namespace) -> str:
    import uvloop

    port = free_port()
    argv = [sys.executable, "-m", "tests.legacy.oldapi", str(port)]
    upstream = procs.spawn("old API", argv, log=workdir / "oldapi.log", env=os.environ)
    base = f"http://127.0.0.1:{port}"
    wait_serving(upstream, f"{base}/hello")
    progress(f"load: {os.getloadavg()[0]:.2f} (1-minute average) before the runs")
    rounds, missing = uvloop.run(measure(base, args))
    rows = []
    best = max(statistics.median(r.rps for r in runs) for runs in rounds.values())
    for name, runs in rounds.items():
        rps = statistics.median(r.rps for r in runs)
        cpu = statistics.median(r.cpu_us for r in runs)
        rows.append((name, f"{rps:,.0f}", f"{cpu:.1f}", f"{rps / best:.2f}x"))
    rows += [(name, "not installed", "-", "-") for name in missing]
    table = markdown_table(
        ("client", "requests/s", "CPU µs/request", "vs best"),
        ("---", "---:", "---:", "---:"),
        rows,
    )
    notes = [
        f"Command: `{command_line()}`",
        f"Machine: {machine()}; 1-minute load average at the end {os.getloadavg()[0]:.2f}.",
        f"GET /hello from {args.concurrency} tasks, {args.duration}s per round, {args.repeat}"
        " rounds alternating the clients; medians.",
    ]
    return table + "\n\n" + "\n".join(f"- {n}" for n in notes)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.legacy_clients")
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()

    def run(procs: Processes, workdir: Path) -> str:
        return body(procs, workdir, args)

    return run_script("bench.legacy_clients", run, needs_wrk=False)


if __name__ == "__main__":
    sys.exit(main())
