"""Probes and shutdown with real processes: alive but not ready while starting, an
in-flight request finished after SIGTERM while nothing new is accepted, a bounded
shutdown, a Kafka consumer that commits what it finished, and a cron lease released
so that another replica takes the next tick at once."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.brokers.redis import RedisServer
from tests.brokers.tansu import Tansu
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function
from tests.triggers.kafka.kit import new_topic, produce, read_until, topic_name

SLOW_START = """
import time

time.sleep(2)  # a slow import: the revision warms for 2 s


def handler(event, context):
    time.sleep(float(event.query.get("s", "0")))
    return "done"
"""


def probe(gaia: Gaia, path: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{gaia.admin_url}{path}", timeout=2)
    return response.status_code, response.json()


def in_flight(gaia: Gaia) -> int:
    with gaia.admin() as admin:
        return sum(p["in_flight"] for p in admin.get("/v1/status").json()["pools"])


def test_alive_before_ready_and_sigterm_finishes_what_is_in_flight(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    write_function(tmp_path / "fn", SLOW_START)
    config = tmp_path / "gaia.yaml"
    config.write_text(
        "functions:\n  slow:\n    code: ./fn\n    triggers:\n      - http: {path: /slow}\n"
    )
    gaia = gaia_factory().start("-f", str(config), wait=False)
    # Alive while the state loads and the revision warms, not ready.
    wait_for(lambda: probe(gaia, "/healthz")[0] == 200, what="the admin listener")
    assert probe(gaia, "/readyz") == (
        503,
        {
            "status": "starting",
            "message": "loading the state and warming the pools behind routed aliases",
        },
    )
    starting = httpx.get(f"{gaia.admin_url}/v1/status", timeout=2)
    assert starting.status_code == 503 and starting.json()["error"] == "starting"
    wait_for(lambda: probe(gaia, "/readyz")[0] == 200, what="ready")
    assert probe(gaia, "/readyz")[1] == {"status": "ready", "message": "serving"}
    assert httpx.get(f"{gaia.url}/slow", timeout=5).text == "done"

    answers: list[httpx.Response] = []
    request = threading.Thread(
        target=lambda: answers.append(httpx.get(f"{gaia.url}/slow?s=2", timeout=30))
    )
    request.start()
    wait_for(lambda: in_flight(gaia) == 1, what="the request to be in flight")
    assert gaia.process is not None
    gaia.process.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    # Draining: not ready, still alive, and no new connection is accepted.
    wait_for(lambda: probe(gaia, "/readyz")[0] == 503, what="readiness to fail")
    assert probe(gaia, "/readyz")[1]["status"] == "draining"
    assert probe(gaia, "/healthz")[0] == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{gaia.url}/slow", timeout=2)
    request.join(timeout=30)
    assert [(a.status_code, a.text) for a in answers] == [(200, "done")]
    assert answers[0].headers["connection"] == "close"
    assert gaia.process.wait(timeout=30) == 0
    print(f"\nexited {time.monotonic() - signalled:.2f}s after SIGTERM, the request answered")


def test_shutdown_is_bounded_by_the_shutdown_timeout(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    write_function(tmp_path / "fn", SLOW_START.replace("time.sleep(2)", "pass"))
    config = tmp_path / "gaia.yaml"
    config.write_text(
        "functions:\n  slow:\n    code: ./fn\n    timeout: 60s\n"
        "    triggers:\n      - http: {path: /slow}\n"
    )
    gaia = gaia_factory().start("-f", str(config), "--shutdown-timeout", "5s")
    threading.Thread(
        target=lambda: httpx.get(f"{gaia.url}/slow?s=50", timeout=60), daemon=True
    ).start()
    wait_for(lambda: in_flight(gaia) == 1, what="the request to be in flight")
    assert gaia.process is not None
    signalled = time.monotonic()
    gaia.process.send_signal(signal.SIGTERM)
    gaia.process.wait(timeout=30)
    took = time.monotonic() - signalled
    print(f"\na 50 s request cut: exited {took:.2f}s after SIGTERM (--shutdown-timeout 5s)")
    assert 1.5 <= took <= 5.5


def test_sigterm_commits_what_the_kafka_trigger_finished(
    tmp_path: Path, gaia_factory: GaiaFactory, tansu: Tansu
) -> None:
    total = 60
    topic = asyncio.run(new_topic(tansu.bootstrap, "drain", partitions=2))
    answers = topic_name("answers")
    write_function(
        tmp_path / "fn",
        "import time\n\ndef handler(event, context):\n    time.sleep(0.05)\n"
        "    return {'data': event.data}\n",
    )
    config = tmp_path / "gaia.yaml"
    config.write_text(
        f"""
functions:
  orders:
    code: ./fn
    triggers:
      - kafka:
          brokers: {tansu.bootstrap}
          topic: {topic}
          start: earliest
          max_in_flight: 4
          session_timeout: 2s
          response_topic: {answers}
"""
    )
    asyncio.run(
        produce(tansu.bootstrap, topic, [(b"k", json.dumps(n).encode()) for n in range(total)])
    )
    gaia = gaia_factory().start("-f", str(config))

    def processed() -> int:
        with gaia.admin() as admin:
            state = admin.get("/v1/triggers/orders/kafka/0").json()["state"]
            return int(state["processed"])

    wait_for(lambda: processed() >= 10, what="some messages processed")
    assert gaia.stop() == 0  # SIGTERM: finish, commit, leave the group
    gaia.start()  # the same GAIA_HOME: the trigger resumes from the committed offsets

    def all_answered(records: list[Any]) -> bool:
        return len({r.value for r in records}) >= total

    replies = asyncio.run(read_until(tansu.bootstrap, answers, all_answered, within=60))
    counts = Counter(json.loads(r.value)["data"] for r in replies)
    assert set(counts) == set(range(total))
    duplicates = {n: c for n, c in counts.items() if c > 1}
    assert duplicates == {}, "a message finished before SIGTERM ran again after the restart"


LONG_TICK = """
import time

def handler(event, context):
    time.sleep(2.5)
    return "ran"
"""


def test_sigterm_releases_the_cron_lease_so_another_replica_takes_the_next_tick(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    write_function(tmp_path / "fn", LONG_TICK)
    config = tmp_path / "gaia.yaml"
    config.write_text(
        f"""
functions:
  tick:
    code: ./fn
    triggers:
      - cron: {{schedule: "* * * * * *", lease: "{redis_server.url}", overlap: skip}}
"""
    )
    replicas = {
        name: gaia_factory(name, extra_env={"GAIA_REPLICA": name}).start("-f", str(config))
        for name in ("a", "b")
    }

    def history() -> list[dict[str, Any]]:
        with replicas["b"].admin() as admin:
            runs: list[dict[str, Any]] = admin.get(
                "/v1/triggers/tick/cron/0/history", params={"limit": 1000}
            ).json()
            return runs

    running = wait_for(
        lambda: next(
            (r for r in history() if r["outcome"] == "running" and r["replica"] == "a"), None
        ),
        what="a run on replica a",
    )
    assert replicas["a"].stop() == 0  # SIGTERM in the middle of a 2.5 s run
    finished = next(r for r in history() if r["run_id"] == running["run_id"])
    assert finished["outcome"] == "succeeded", finished
    # The first tick b claims after a's run ended is run, not skipped as overlapping.
    after = wait_for(
        lambda: sorted(
            (r for r in history() if r["replica"] == "b" and r["scheduled"] >= finished["ended"]),
            key=lambda r: r["scheduled"],
        ),
        what="b's next tick",
    )
    assert after[0]["outcome"] in ("running", "succeeded"), after[0]
    assert after[0]["scheduled"] - finished["ended"] <= 1.0
