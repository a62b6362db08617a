"""Two consumers of one group in two OS processes (tests/triggers/redis/runner.py) share
10,000 entries; one is SIGKILLed mid-stream. The survivor takes its pending entries
over with XAUTOCLAIM: nothing is lost, every entry is answered on the reply stream or
dead-lettered, and the entries done twice are at most what the dead one held."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as redis

from tests.brokers.redis import RedisServer
from tests.triggers.redis.kit import connected, entries, unique

TOTAL = 10_000
MAX_IN_FLIGHT = 32
POISON_EVERY = 97
GROUP = "gaia-fn"
_ROOT = Path(__file__).resolve().parents[3]


@asynccontextmanager
async def consumer(
    server: RedisServer, streams: dict[str, str], name: str, logs: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A runner process consuming as `name`, once it says it is ready."""
    with (logs / f"{name}.log").open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.triggers.redis.runner",
            "--url",
            server.url,
            "--stream",
            streams["stream"],
            "--consumer",
            name,
            "--reply-stream",
            streams["replies"],
            "--dead-letter",
            streams["dead"],
            "--claim-idle",
            "1s",
            "--max-in-flight",
            str(MAX_IN_FLIGHT),
            "--poison-every",
            str(POISON_EVERY),
            cwd=_ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=20)
        assert line == b"ready\n", f"{name} did not start: {(logs / f'{name}.log').read_text()}"
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def pending_of(client: redis.Redis, stream: str) -> dict[str, int]:
    summary = await client.xpending(stream, GROUP)
    return {c["name"].decode(): int(c["pending"]) for c in summary["consumers"]}


async def until(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    """Poll an async condition with a deadline (kit.eventually takes sync ones)."""
    deadline = time.monotonic() + within
    while True:
        if await check():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


async def test_a_consumer_killed_mid_stream_loses_nothing(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    streams = {"stream": unique("work"), "replies": unique("answers"), "dead": unique("dlq")}
    stream = streams["stream"]
    started = time.monotonic()
    async with connected(redis_server) as client:
        await client.xgroup_create(stream, GROUP, id="0", mkstream=True)
        pipe = client.pipeline(transaction=False)
        for n in range(1, TOTAL + 1):
            pipe.xadd(stream, {"data": str(n)})
        added = [entry_id.decode() for entry_id in await pipe.execute()]
        by_id = dict(zip(added, range(1, TOTAL + 1), strict=True))

        async def done() -> int:
            return int(await client.xlen(streams["replies"])) + int(
                await client.xlen(streams["dead"])
            )

        async with (
            consumer(redis_server, streams, "a", tmp_path) as doomed,
            consumer(redis_server, streams, "b", tmp_path) as survivor,
        ):

            async def a_mid_stream() -> bool:
                return (
                    await done() >= TOTAL // 4
                    and (await pending_of(client, stream)).get("a", 0) > 0
                )

            await until(a_mid_stream, within=30, what="a quarter done, with a holding entries")
            doomed.send_signal(signal.SIGKILL)
            await doomed.wait()
            orphans = (await pending_of(client, stream)).get("a", 0)

            async def all_done() -> bool:
                return (
                    await done() >= TOTAL
                    and int((await client.xpending(stream, GROUP))["pending"]) == 0
                )

            await until(all_done, within=50, what="every entry answered or dead-lettered")
            survivor.send_signal(signal.SIGTERM)
            assert survivor.stdout is not None
            state = json.loads(await asyncio.wait_for(survivor.stdout.readline(), timeout=20))
        replies = await entries(client, streams["replies"])
        letters = await entries(client, streams["dead"])
    elapsed = time.monotonic() - started

    answered = [fields[b"ce_source_id"].decode().rpartition("/")[2] for _, fields in replies]
    dead = [fields[b"gaia-entry"].decode() for _, fields in letters]
    poison = {entry for entry, n in by_id.items() if n % POISON_EVERY == 0}
    assert set(answered) | set(dead) == set(added), "0 entries lost"
    assert set(dead) == poison and not set(answered) & poison
    for _, fields in replies:  # each answer is its own entry's
        entry = fields[b"ce_source_id"].decode().rpartition("/")[2]
        assert int(fields[b"data"]) == by_id[entry]
    duplicates = len(answered) - len(set(answered)) + len(dead) - len(set(dead))
    assert orphans > 0, "a died holding entries"
    assert state["claimed"] == orphans, "b took over exactly what a held"
    assert duplicates <= 2 * MAX_IN_FLIGHT, f"{duplicates} done twice"
    assert state["status"] == "stopped"
    print(f"\n{TOTAL} entries, {orphans} taken over, {duplicates} done twice, {elapsed:.1f}s")
