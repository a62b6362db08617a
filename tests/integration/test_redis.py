"""Redis Streams triggers end to end: real gaia processes, real workers, a real
redis-server."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, cast

import httpx
import redis

from tests.brokers.redis import RedisServer
from tests.integration.functions import REDIS_ECHO
from tests.integration.harness import Gaia, GaiaFactory, trigger_state, wait_for, write_function
from tests.triggers.redis.kit import unique

TOTAL = 10_000
POISON = set(range(0, TOTAL, 97))
MAX_IN_FLIGHT = 32
TRIGGER = "echo/redis/0"


def _config(tmp_path: Path, trigger: str) -> Path:
    write_function(tmp_path / "fn" / "echo", REDIS_ECHO)
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  echo:
    code: ./fn/echo
    pool: {{min: 1, max: 2}}
    triggers:
      - redis: {trigger}
"""
    )
    return path


def _state(gaia: Gaia) -> dict[str, Any]:
    return trigger_state(gaia, TRIGGER)


def _running(gaia: Gaia) -> bool:
    try:
        return bool(_state(gaia)["status"] == "running")
    except httpx.HTTPError:
        return False


def _field(fields: dict[bytes, bytes], name: str) -> str:
    return fields[name.encode()].decode()


def _read(client: redis.Redis, stream: str) -> list[dict[bytes, bytes]]:
    found = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(stream))
    return [fields for _, fields in found]


def test_two_gateways_in_one_group_one_killed_mid_stream_lose_no_entry(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    stream, replies, dead = unique("bulk"), unique("replies"), unique("dead")
    config = _config(
        tmp_path,
        f"{{url: '{redis_server.url}', stream: '{stream}', group: billing, start: earliest,"
        f" ordering: none, max_in_flight: {MAX_IN_FLIGHT}, retries: 1,"
        f" backoff: {{initial: 1ms, max: 10ms}}, dead_letter: '{dead}',"
        f" reply_stream: '{replies}', claim_idle: 2s}}",
    )
    victim = gaia_factory("victim").start("-f", str(config))
    survivor = gaia_factory("survivor").start("-f", str(config))
    wait_for(lambda: _running(victim) and _running(survivor), what="both gateways reading")
    dead_consumer = _state(victim)["consumer"]
    assert dead_consumer != _state(survivor)["consumer"], "two consumers of one group"

    client = redis.Redis.from_url(redis_server.url)
    try:
        for start in range(0, TOTAL, 1000):
            with client.pipeline(transaction=False) as pipe:
                for n in range(start, start + 1000):
                    pipe.xadd(stream, {"data": str(n)})
                pipe.execute()
        wait_for(
            lambda: _state(victim)["processed"] >= TOTAL // 8,
            timeout=60,
            what="the victim well into the stream",
        )
        victim.kill()  # SIGKILL: what it holds stays pending, never acknowledged
        [orphans] = [
            int(c["pending"])
            for c in client.xinfo_consumers(stream, "billing")
            if c["name"].decode() == dead_consumer
        ]
        assert orphans > 0, "killed while holding entries"

        def settled() -> dict[str, Any] | None:
            state = _state(survivor)
            done = client.xlen(replies) + client.xlen(dead) >= TOTAL
            return state if done and state["pending"] == 0 and state["lag"] == 0 else None

        state = wait_for(settled, timeout=90, what="every entry answered or dead-lettered")
        bodies = [json.loads(_field(f, "data")) for f in _read(client, replies)]
        answers = Counter(body["n"] for body in bodies)
        letters = Counter(int(_field(f, "data")) for f in _read(client, dead))
        sources = {_field(f, "ce_source_id") for f in _read(client, replies)}
        letter = _read(client, dead)[0]
    finally:
        client.close()

    assert set(answers) | set(letters) == set(range(TOTAL)), "no entry lost"
    assert set(letters) == POISON and not set(answers) & POISON, "poison dead-lettered, only it"
    duplicates = answers.total() + letters.total() - TOTAL
    print(f"\nkill -9 holding {orphans} entries: {duplicates} duplicate(s)")
    # Only what the victim held can run twice: those it finished but had not acknowledged.
    assert 0 <= duplicates <= orphans <= 2 * MAX_IN_FLIGHT
    assert bodies[0]["headers"] == {} and bodies[0]["revision"] == 1, "no headers"
    assert len(sources) == TOTAL - len(POISON) and f"{stream}/" in next(iter(sources))
    assert _field(letter, "gaia-attempts") == "2" and _field(letter, "gaia-stream") == stream
    assert _field(letter, "gaia-trigger") == TRIGGER and "poison pill" in _field(
        letter, "gaia-error"
    )
    assert _field(letter, "gaia-revision") == "echo@1"

    # The survivor took the victim's pending entries over, and says so.
    assert state["claimed"] == orphans
    assert (state["stream"], state["group"], state["ordering"]) == (stream, "billing", "none")
    assert state["dead_lettered"] >= 1 and state["processed"] >= 1
    assert (state["in_flight"], state["stuck"], state["stuck_entries"]) == (0, 0, [])
    listing = survivor.cli("triggers")
    assert listing.returncode == 0, listing.stderr
    assert f"{stream} (group billing)" in listing.stdout and "redis" in listing.stdout
    shown = survivor.cli("triggers", "show", TRIGGER)
    assert shown.returncode == 0, shown.stderr
    assert f"group: billing  consumer: {state['consumer']}" in shown.stdout
    assert f"claimed: {orphans}" in shown.stdout
    assert f"dead-lettered: {state['dead_lettered']}" in shown.stdout
