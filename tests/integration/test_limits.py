"""Limits with real gateways, workers and redis-server: a rate limit shared by three
replicas within its stated tolerance, Redis stopped under it, a concurrency cap across
replicas whose leases expire when a replica dies, and a circuit that opens and closes."""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import redis

from bench.common import run_wrk
from limits.shared import LEASE_S, LEASE_TTL_S
from tests.brokers.redis import RedisServer
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function

# Low enough that wrk exceeds it even on a busy 2-core machine running other tests.
RPS, BURST = 150, 30
REPLICAS = 3
BATCH = max(1, min(BURST, math.ceil(RPS * LEASE_S)))


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of this test's own, to stop and start under traffic."""
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def admitted_at(gaia: Gaia, since: float) -> list[float]:
    """When each request this replica answered 200 arrived (its access log's `time`)."""
    arrived = [
        datetime.fromisoformat(str(entry["time"])).timestamp()
        for entry in gaia.json_logs()
        if entry.get("route") == "/hello" and entry.get("status") == 200
    ]
    return [at for at in arrived if at >= since]


def most_in_any_second(times: list[float]) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def load(replicas: list[Gaia], seconds: int) -> tuple[float, float]:
    """wrk against every replica at once, far over the limit; the span it ran."""
    started = time.time()
    with ThreadPoolExecutor(len(replicas)) as pool:
        results = list(
            pool.map(
                lambda g: run_wrk(f"{g.url}/hello", connections=4, duration_s=seconds), replicas
            )
        )
    assert all(r.socket_errors == 0 for r in results), results
    return started, time.time()


def test_a_rate_limit_holds_across_three_replicas_and_fails_open_to_shares_without_redis(
    tmp_path: Path, gaia_factory: GaiaFactory, own_redis: RedisServer
) -> None:
    write_function(tmp_path / "fn", "def handler(event, context):\n    return 'hi'\n")
    config = tmp_path / "gaia.yaml"
    config.write_text(
        f"""
functions:
  hello:
    code: ./fn
    aliases:
      default:
        rate_limit: {{rps: {RPS}, burst: {BURST}, redis: {own_redis.url}}}
    triggers:
      - http: {{path: /hello}}
      - http: {{path: /tiny, rate_limit: {{rps: 0.5, burst: 1, redis: {own_redis.url}}}}}
"""
    )
    replicas = [gaia_factory(f"r{n}").start("-f", str(config), wait=False) for n in range(3)]
    for gaia in replicas:
        gaia.wait_ready()

    # A refusal says what and when: the trigger's own limit, shared too.
    with replicas[0].data() as one, replicas[1].data() as other:
        assert one.get("/tiny").status_code == 200
        refused = other.get("/tiny")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused.json()["message"].startswith(
        "trigger hello/http/1 allows 0.5 requests/s (burst 1): over the limit, a request may"
        " go again in "
    )
    assert refused.headers["retry-after"] == "2"

    # Shared: three replicas far over the limit admit what one bucket allows.
    started, ended = load(replicas, 3)
    per_replica = [admitted_at(g, started) for g in replicas]
    admitted = sorted(t for times in per_replica for t in times)
    span = ended - started
    ceiling = BURST + RPS * span + REPLICAS * BATCH
    refusals = [
        e
        for g in replicas
        for e in g.json_logs()
        if e.get("status") == 429 and e.get("route") == "/hello"
    ]
    assert refusals and {e["alias"] for e in refusals} == {"default"}
    print(
        f"\nshared: {len(admitted)} admitted in {span:.2f}s (limit {BURST} + {RPS}/s: at most"
        f" {ceiling:.0f}), per replica {[len(t) for t in per_replica]},"
        f" most in one second {most_in_any_second(admitted)}"
    )
    assert len(admitted) <= ceiling
    assert most_in_any_second(admitted) <= BURST + RPS + REPLICAS * BATCH
    # ...and not far under it: the replicas do not starve each other (the margin is for
    # a machine busy with other tests, where wrk itself starts late).
    assert len(admitted) >= 0.6 * RPS * span
    assert all(len(times) > 0.1 * RPS * span for times in per_replica)

    # Redis gone: nothing fails, and each replica keeps a third of the limit.
    own_redis.stop()
    started, ended = load(replicas, 2)
    span = ended - started
    per_replica = [admitted_at(g, started) for g in replicas]
    share_ceiling = BURST / REPLICAS + RPS / REPLICAS * span + BATCH + 1
    print(
        f"redis down: per replica {[len(t) for t in per_replica]} (each at most"
        f" {share_ceiling:.0f})"
    )
    for gaia, times in zip(replicas, per_replica, strict=True):
        assert 0.5 * RPS / REPLICAS * span <= len(times) <= share_ceiling
        statuses = {e.get("status") for e in gaia.json_logs() if e.get("route") == "/hello"}
        assert statuses <= {200, 429}, statuses
        assert "cannot reach" in gaia.logs() and "3 replicas seen" in gaia.logs()

    # Redis back: the replicas share one bucket again on their own.
    own_redis.start()
    with replicas[0].data() as client:
        wait_for(
            lambda: client.get("/hello") and "answers again" in replicas[0].logs(),
            timeout=15,
            what="the replica to reach Redis again",
        )


def test_a_concurrency_cap_holds_across_replicas_and_a_dead_ones_slots_free_up(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    write_function(
        tmp_path / "fn",
        "import time\n\ndef handler(event, context):\n"
        "    time.sleep(float(event.query.get('s', '0')))\n    return 'done'\n",
    )
    config = tmp_path / "gaia.yaml"
    config.write_text(
        f"""
functions:
  capped:
    code: ./fn
    concurrency_limit: {{max: 2, redis: {redis_server.url}}}
    pool: {{min: 1, max: 4}}
    triggers:
      - http: {{path: /slow}}
"""
    )
    one = gaia_factory("one").start("-f", str(config))
    two = gaia_factory("two").start("-f", str(config))
    leases = redis.Redis.from_url(redis_server.url)

    def in_flight() -> int:
        return int(leases.zcard("gaia:concurrency:capped"))

    results: list[int] = []

    def slow(gaia: Gaia, seconds: float) -> None:
        with httpx.Client(timeout=30) as client:
            results.append(client.get(f"{gaia.url}/slow", params={"s": seconds}).status_code)

    threads = [threading.Thread(target=slow, args=(one, 2.0)) for _ in range(2)]
    for thread in threads:
        thread.start()
    wait_for(lambda: in_flight() == 2, what="two invocations in flight on one")
    refused = httpx.get(f"{two.url}/slow", timeout=10)
    assert refused.status_code == 503
    assert refused.json()["error"] == "concurrency_limited"
    assert refused.json()["message"] == (
        "2 invocations are in flight across the replicas: the function's concurrency_limit;"
        " retry shortly"
    )
    assert refused.headers["retry-after"] == "1"
    for thread in threads:
        thread.join()
    assert results == [200, 200]
    wait_for(lambda: in_flight() == 0, what="the leases to be released")
    assert httpx.get(f"{two.url}/slow", timeout=10).status_code == 200

    # A replica killed holding both slots: they free up once its leases expire.
    for _ in range(2):
        threading.Thread(target=lambda: _quietly(one, 30.0), daemon=True).start()
    wait_for(lambda: in_flight() == 2, what="two invocations in flight on one")
    one.kill()
    killed = time.monotonic()
    assert httpx.get(f"{two.url}/slow", timeout=10).status_code == 503
    wait_for(
        lambda: httpx.get(f"{two.url}/slow", timeout=10).status_code == 200,
        timeout=LEASE_TTL_S + 10,
        what="the dead replica's slots to free up",
    )
    freed = time.monotonic() - killed
    print(f"\nthe killed replica's slots were free after {freed:.1f}s")
    assert freed <= LEASE_TTL_S + 2


def _quietly(gaia: Gaia, seconds: float) -> None:
    with contextlib.suppress(httpx.HTTPError):  # the replica is killed under it
        httpx.get(f"{gaia.url}/slow", params={"s": seconds}, timeout=60)


FLAKY = """
def handler(event, context):
    if event.headers.get("x-fail"):
        raise RuntimeError("asked to fail")
    return "{version}"
"""


def test_a_circuit_opens_on_failures_falls_back_and_a_probe_closes_it(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    code = tmp_path / "fn"
    write_function(code, FLAKY.format(version="v1"))
    config = tmp_path / "gaia.yaml"
    config.write_text("functions:\n  flaky:\n    code: ./fn\n")
    gaia = gaia_factory().start("-f", str(config))
    write_function(code, FLAKY.format(version="v2"))
    config.write_text(
        """
functions:
  flaky:
    code: ./fn
    circuit: {failures: 3, cooldown: 1s}
    aliases:
      prod:
        traffic: [{revision: latest, percent: 100}]
      safe:
        traffic: [{revision: latest, percent: 100}]
        fallback: 1
    triggers:
      - http: {path: /strict, alias: prod}
      - http: {path: /safe, alias: safe}
"""
    )
    applied = gaia.cli("apply", "-f", str(config))
    assert applied.returncode == 0, applied.stderr
    with gaia.admin() as admin:  # the fallback is kept warm though no traffic goes to it
        pools = {p["revision"] for p in admin.get("/v1/status").json()["pools"]}
    assert pools == {"flaky@1", "flaky@2"}
    fail = {"x-fail": "1"}
    with gaia.data() as client:
        assert client.get("/strict").text == "v2"
        for _ in range(3):
            assert client.get("/strict", headers=fail).status_code == 500
        shut = client.get("/strict")
        assert shut.status_code == 503
        body = shut.json()
        assert body["error"] == "circuit_open"
        assert body["message"].startswith(
            "flaky@2 is failing (3 failures in a row): its circuit is open; gaia tries it again in "
        )
        assert shut.headers["retry-after"] == "1"
        assert shut.headers["x-gaia-revision"] == "flaky@2"
        # The alias with a fallback answers from it meanwhile.
        fallen = client.get("/safe")
        assert (fallen.status_code, fallen.text) == (200, "v1")
        assert fallen.headers["x-gaia-revision"] == "flaky@1"

        # After the cooldown one request probes: a failing probe opens it again...
        wait_for(
            lambda: client.get("/strict", headers=fail).status_code == 500,
            timeout=5,
            what="the cooldown to end",
        )
        assert client.get("/strict").status_code == 503
        # ...and a good one closes it.
        wait_for(
            lambda: client.get("/strict").status_code == 200, timeout=5, what="a probe to pass"
        )
        assert client.get("/strict").text == "v2"
        assert client.get("/safe").headers["x-gaia-revision"] == "flaky@2"
    logs = gaia.logs()
    assert "flaky@2: circuit open: 3 failures in a row; a probe in 1s" in logs
    assert "flaky@2: the probe succeeded: circuit closed" in logs


def test_a_fallback_must_name_a_revision_of_the_function(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    write_function(tmp_path / "fn", FLAKY.format(version="v1"))
    config = tmp_path / "gaia.yaml"
    config.write_text("functions:\n  flaky:\n    code: ./fn\n")
    gaia = gaia_factory().start("-f", str(config))
    with gaia.admin() as admin:
        refused = admin.put(
            "/v1/functions/flaky/aliases/prod",
            json={"traffic": [{"revision": 1, "percent": 100}], "fallback": 7},
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "fallback"
        assert refused.json()["message"] == (
            "fallback revision 7 does not exist: expected a revision of this function, one of [1]"
        )
        assert admin.get("/v1/functions/flaky/aliases/prod").status_code == 404
        taken = admin.put(
            "/v1/functions/flaky/aliases/prod",
            json={
                "traffic": [{"revision": 1, "percent": 100}],
                "fallback": 1,
                "rate_limit": {"rps": 5},
            },
        )
        assert taken.status_code == 200, taken.text
        assert (taken.json()["fallback"], taken.json()["rate_limit"]) == (1, {"rps": 5.0})
    # `gaia alias set` changes the traffic and keeps the limit and the fallback.
    changed = gaia.cli("alias", "set", "flaky:prod", "latest=100")
    assert changed.returncode == 0, changed.stderr
    with gaia.admin() as admin:
        view = admin.get("/v1/functions/flaky/aliases/prod").json()
    assert view["traffic"][0]["revision"] == "latest"
    assert (view["fallback"], view["rate_limit"]) == (1, {"rps": 5.0})
