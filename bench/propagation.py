"""Propagation benchmark: from an alias change on one replica to every replica routing it.

    python -m bench.propagation [--changes 200] [--replicas 3]

One redis-server (no persistence, a free port) as the shared store (`GAIA_STORE`) and
`--replicas` gateways on it. One function, `flip`, whose handler answers its revision
number, has two revisions and an alias `prod` behind the HTTP route `/flip`. The alias
flips between two splits, `1=100 2=0` and `1=0 2=100` (each revision tagged, so both
stay referenced and warm: the delay measured is the config's, not a cold start's).

Each change is a `PUT /v1/functions/flip/aliases/prod` sent to the replicas in turn.
The moment before it is sent, every replica's data plane starts being polled on one
keep-alive connection each (`GET /flip`, a new poll 2 ms after each answer); a
replica's delay is the time from that moment to the first answer from the new
revision. The replica that took the PUT counts too (its delay is at most the PUT's
round trip); the table also gives the others alone, which is the propagation proper.
The resolution is the gap plus one poll's round trip (about 1 ms); the gap keeps the
polls from taking the CPU the gateways need to take the change.

The same changes then go to one gateway on the embedded store (SQLite, no Redis), as
the baseline: what a change costs without replicas, on the same machine in the same run.

Target (from the issue): p99 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    BenchError,
    Gateway,
    Processes,
    bundle,
    command_line,
    machine,
    markdown_table,
    percentile,
    progress,
    run_script,
    sandbox,
    start_gateway,
    verdict,
)
from bench.cron import start_redis

FN = "flip"
ALIAS = "prod"
HANDLER = "def handler(event, context):\n    return str(context.revision)\n"
TARGET_P99_MS = 100.0
# A change that has not reached a replica by then is a failure, not a slow sample.
GIVE_UP_S = 10.0
POLL_GAP_S = 0.002
# Between changes: the previous one's tail (retiring, logging) is not the next one's cost.
SETTLE_S = 0.05


def split(serving: int) -> dict[str, object]:
    return {
        "traffic": [
            {"revision": 1, "percent": 100 if serving == 1 else 0, "tag": "one"},
            {"revision": 2, "percent": 100 if serving == 2 else 0, "tag": "two"},
        ]
    }


def document(revisions: int) -> dict[str, object]:
    traffic = split(1) if revisions == 2 else {"traffic": [{"revision": 1, "percent": 100}]}
    return {
        "functions": {
            FN: {
                "code": f"./{FN}",
                "pool": {"min": 1, "max": 1},
                "aliases": {ALIAS: traffic},
                "triggers": [{"http": {"path": f"/{FN}", "alias": ALIAS}}],
            }
        }
    }


def publish_two_revisions(gateway: Gateway, code: Path) -> None:
    """Revision 1, then 2 (other code): both exist before the other replicas start."""
    for revision in (1, 2):
        (code / "main.py").write_text(HANDLER + f"# revision {revision}\n")
        body = {
            "file": "gaia.yaml",
            "document": document(revision),
            "bundles": {FN: bundle(code)},
        }
        plan = gateway.admin_json("POST", "/v1/apply", body)["functions"][0]
        if plan["revision"] != revision:
            raise BenchError(f"expected revision {revision}, got {plan}")


class Connection:
    """A keep-alive HTTP/1.1 connection: a poll is a write and a read, nothing else."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, head: bytes, body: bytes = b"") -> tuple[int, bytes]:
        self._writer.write(head + body)
        status_line = await self._reader.readuntil(b"\r\n")
        length = 0
        while (line := await self._reader.readuntil(b"\r\n")) != b"\r\n":
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return int(status_line.split()[1]), await self._reader.readexactly(length)

    def close(self) -> None:
        self._writer.close()


POLL = f"GET /{FN} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()


async def until_serving(poller: Connection, revision: int, started: float) -> float:
    """Poll until the answer comes from `revision`; the delay since `started` in ms."""
    expected = str(revision).encode()
    while True:
        status, body = await poller.request(POLL)
        if status != 200:
            raise BenchError(f"GET /{FN} answered {status}: {body!r}")
        if body == expected:
            return (time.perf_counter() - started) * 1000
        await asyncio.sleep(POLL_GAP_S)


async def put_alias(admin: Connection, token: str, serving: int) -> float:
    body = json.dumps(split(serving)).encode()
    head = (
        f"PUT /v1/functions/{FN}/aliases/{ALIAS} HTTP/1.1\r\nHost: bench\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    status, answer = await admin.request(head, body)
    if status != 200:
        raise BenchError(f"PUT alias answered {status}: {answer!r}")
    return (time.perf_counter() - started) * 1000


@dataclass(frozen=True)
class Results:
    # Per change, per replica (in replica order): ms until it routed the new split.
    delays_ms: list[list[float]]
    origins: list[int]
    put_ms: list[float]


@dataclass(frozen=True)
class Compared:
    cluster: Results
    # The same changes to one gateway on the embedded store.
    alone: Results


async def measure(gateways: Sequence[Gateway], changes: int) -> Results:
    pollers = [await Connection.open(g.port) for g in gateways]
    admins = [await Connection.open(g.admin_port) for g in gateways]
    tokens = [(g.home / "admin-token").read_text().strip() for g in gateways]
    delays: list[list[float]] = []
    origins: list[int] = []
    puts: list[float] = []
    serving = 1
    try:
        for n in range(changes):
            serving = 2 if serving == 1 else 1
            origin = n % len(gateways)
            started = time.perf_counter()
            polls = [until_serving(p, serving, started) for p in pollers]
            done = await asyncio.wait_for(
                asyncio.gather(put_alias(admins[origin], tokens[origin], serving), *polls),
                GIVE_UP_S,
            )
            puts.append(done[0])
            delays.append(list(done[1:]))
            origins.append(origin)
            await asyncio.sleep(SETTLE_S)
            if (n + 1) % 50 == 0:
                progress(f"{n + 1} of {changes} changes")
    except TimeoutError:
        raise BenchError(f"a change did not reach every replica within {GIVE_UP_S:g}s") from None
    finally:
        for connection in (*pollers, *admins):
            connection.close()
    return Results(delays_ms=delays, origins=origins, put_ms=puts)


def run(args: argparse.Namespace, procs: Processes, workdir: Path) -> Compared:
    store = {"GAIA_STORE": start_redis(procs, workdir)}
    code = workdir / FN
    code.mkdir()
    gateways: list[Gateway] = []
    for n in range(args.replicas):
        progress(f"starting replica {n + 1} of {args.replicas}")
        gateways.append(
            start_gateway(
                procs,
                workdir / f"home{n}",
                log=workdir / f"gaia{n}.log",
                ready_path=None if n == 0 else f"/{FN}",
                env={**store, "GAIA_REPLICA": f"replica-{n}"},
            )
        )
        if n == 0:
            publish_two_revisions(gateways[0], code)
    progress(f"measuring {args.changes} alias changes across {args.replicas} replicas")
    cluster = asyncio.run(measure(gateways, args.changes))
    for gateway in gateways:
        procs.stop(gateway.proc)
    progress("the same changes to one gateway on the embedded store")
    alone = start_gateway(procs, workdir / "alone", log=workdir / "alone.log", ready_path=None)
    publish_two_revisions(alone, code)
    return Compared(cluster=cluster, alone=asyncio.run(measure([alone], args.changes)))


def report(compared: Compared, args: argparse.Namespace) -> str:
    results, alone = compared.cluster, compared.alone
    alone_delays = [d for row in alone.delays_ms for d in row]
    every = [d for row in results.delays_ms for d in row]
    others = [
        d
        for row, origin in zip(results.delays_ms, results.origins, strict=True)
        for replica, d in enumerate(row)
        if replica != origin
    ]
    p99_all, p99_others = percentile(every, 99), percentile(others, 99)
    rows = [
        (
            f"every replica ({len(every)} samples)",
            f"{statistics.median(every):.1f}",
            f"{p99_all:.1f}",
            f"{max(every):.1f}",
            f"≤ {TARGET_P99_MS:g}",
            verdict(p99_all <= TARGET_P99_MS),
        ),
        (
            f"the other replicas ({len(others)})",
            f"{statistics.median(others):.1f}",
            f"{p99_others:.1f}",
            f"{max(others):.1f}",
            f"≤ {TARGET_P99_MS:g}",
            verdict(p99_others <= TARGET_P99_MS),
        ),
        _row(f"the PUT's round trip ({len(results.put_ms)})", results.put_ms),
        _row(f"one gateway, embedded store ({len(alone_delays)})", alone_delays),
        _row(f"its PUT's round trip ({len(alone.put_ms)})", alone.put_ms),
    ]
    table = markdown_table(
        ("delay until routed (ms)", "p50", "p99", "max", "target p99", "met?"),
        ("---", "---:", "---:", "---:", "---", "---"),
        rows,
    )
    return "\n".join(
        [
            "",
            table,
            "",
            f"- Command: `{command_line()}`",
            f"- Machine: {machine()}; worker sandbox: {sandbox()}.",
            f"- {args.replicas} gateways on one redis-server; {args.changes} changes of"
            f" {FN}:{ALIAS} between `1=100 2=0` and `1=0 2=100`, sent to each replica in"
            f" turn; delay = from sending the PUT to the first `GET /{FN}` answered by the"
            " new revision, polled every 2 ms on each replica's data plane. The same"
            " changes to one gateway on the embedded store (no Redis) for comparison.",
        ]
    )


def _row(what: str, values: list[float]) -> tuple[str, ...]:
    """A row without a target."""
    middle, p99 = statistics.median(values), percentile(values, 99)
    return (what, f"{middle:.1f}", f"{p99:.1f}", f"{max(values):.1f}", "-", "-")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.propagation",
        description="delay from an alias change on one replica to every replica routing it",
    )
    parser.add_argument("--changes", type=int, default=200, help="alias changes measured")
    parser.add_argument("--replicas", type=int, default=3, help="gateways on the shared store")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    return run_script(
        "bench.propagation",
        lambda procs, workdir: report(run(args, procs, workdir), args),
        needs_wrk=False,
    )


if __name__ == "__main__":
    sys.exit(main())
