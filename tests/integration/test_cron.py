"""Cron triggers end to end: three real gateways share one schedule through Redis."""

from __future__ import annotations

import math
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.brokers.redis import RedisServer
from tests.integration.functions import CRON_TICK
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function


def _config(tmp_path: Path, redis: RedisServer) -> Path:
    write_function(tmp_path / "fn" / "tick", CRON_TICK)
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  tick:
    code: ./fn/tick
    triggers:
      - cron: {{schedule: "* * * * * *", lease: "{redis.url}", misfire_grace: 1s}}
"""
    )
    return path


def _history(gaia: Gaia) -> list[dict[str, Any]]:
    with gaia.admin() as admin:
        response = admin.get("/v1/triggers/tick/cron/0/history", params={"limit": 1000})
        response.raise_for_status()
        runs: list[dict[str, Any]] = response.json()
        return runs


def test_three_replicas_run_every_second_once_and_a_killed_one_stops_nothing(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    config = _config(tmp_path, redis_server)
    replicas = [gaia_factory(f"replica{n}").start("-f", str(config)) for n in range(3)]
    survivor, doomed = replicas[0], replicas[1]
    wait_for(lambda: len(_history(survivor)) >= 2, what="the first ticks")
    doomed_name = _name(doomed)
    start = time.time()
    wait_for(lambda: time.time() >= start + 10, timeout=15, what="10 s")
    doomed.kill()
    killed_at = time.time()
    wait_for(lambda: time.time() >= start + 30, timeout=25, what="30 s")
    end = time.time()
    wait_for(
        lambda: all(
            r["outcome"] != "running" or r["scheduled"] < killed_at + 1
            for r in _history(survivor)
            if r["scheduled"] <= end
        ),
        what="the last runs to finish",
    )

    runs = [r for r in _history(survivor) if start <= r["scheduled"] <= end]
    seconds = range(math.ceil(start), math.floor(end) + 1)
    per_second = Counter(round(r["scheduled"]) for r in runs)
    assert [s for s in seconds if per_second[s] == 0] == [], "a scheduled second never ran"
    assert [s for s, n in per_second.items() if n > 1] == [], "a second ran twice"
    outcomes = Counter(r["outcome"] for r in runs)
    # The killed replica may have been inside a run: that run started and never ended.
    assert outcomes["succeeded"] >= len(seconds) - 1 and outcomes["missed"] == 0, outcomes
    by_replica = Counter(r["replica"] for r in runs)
    assert len(by_replica) >= 2, by_replica
    late = [r for r in runs if r["replica"] == doomed_name and r["scheduled"] > killed_at + 1]
    assert late == [], "a killed replica cannot run anything"

    shown = survivor.cli("cron", "history", "tick/cron/0", "-n", "5")
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines() if "succeeded" in line]
    assert len(rows) == 5 and all("tick@1" in row for row in rows), shown.stdout
    wrong = survivor.cli("cron", "history", "tick/cron/9")
    assert wrong.returncode == 1 and "does not exist" in wrong.stderr


def _name(gaia: Gaia) -> str:
    with gaia.admin() as admin:
        state: dict[str, Any] = admin.get("/v1/triggers/tick/cron/0").json()["state"]
        return str(state["replica"])
