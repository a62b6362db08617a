"""Cluster mode end to end: real gateways sharing one config in a real redis-server
(GAIA_STORE=redis://...). A change made through any replica reaches every other one,
new revisions warm on each before it routes to them, triggers start and stop on every
replica, two replicas racing get one success and one clear conflict; and while Redis is
down the data plane keeps serving, changes answer 503, and the replicas catch up by
themselves when it is back."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import redis

from gateway import bundles
from tests.brokers.redis import RedisServer
from tests.integration.harness import (
    Gaia,
    GaiaFactory,
    free_port,
    trigger_state,
    wait_for,
    write_function,
)
from triggers.cron.ledger import RUNNING_STALE_S

# Each revision answers its number.
GREET = """
def handler(event, context):
    return {"revision": context.revision}
"""
# A revision whose import takes a while: two deploys of it overlap for sure.
SLOW = """
import time
time.sleep(2)

def handler(event, context):
    return "{who}"
"""
TICK = """
def handler(event, context):
    return event.time
"""
# A change reaches every replica within this in the tests; the figure for how fast it
# does (p99 well under 100 ms) is bench/propagation.py's, on a quieter machine.
PROPAGATION_S = 10.0


def _file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "gaia.yaml"
    path.write_text(body)
    return path


def _revision(gaia: Gaia, path: str = "/greet") -> int | None:
    response = httpx.get(f"{gaia.url}{path}", timeout=5)
    if response.status_code != 200:
        return None
    revision: int = response.json()["revision"]
    return revision


def _serves(gaia: Gaia, revision: int) -> bool:
    return _revision(gaia) == revision


def _trigger_is(gaia: Gaia, trigger: str, status: str | None) -> bool:
    """Whether the trigger's status is `status`; None: the trigger does not exist."""
    with gaia.admin() as admin:
        response = admin.get(f"/v1/triggers/{trigger}")
    if response.status_code == 404:
        return status is None
    return bool(response.json().get("state", {}).get("status") == status)


def _store(gaia: Gaia) -> dict[str, Any]:
    with gaia.admin() as admin:
        status: dict[str, Any] = admin.get("/v1/status").json()["store"]
        return status


def _cluster(gaia_factory: GaiaFactory, url: str, names: list[str], config: Path) -> list[Gaia]:
    """The first replica applies `config`; the others start from the store alone."""
    env = {"GAIA_STORE": url}
    first = gaia_factory(names[0], extra_env={**env, "GAIA_REPLICA": names[0]})
    first.start("-f", str(config))
    rest = [gaia_factory(n, extra_env={**env, "GAIA_REPLICA": n}) for n in names[1:]]
    for gaia in rest:
        gaia.start(wait=False)
    for gaia in rest:
        gaia.wait_ready(timeout=60)
    return [first, *rest]


def _readiness(gaia: Gaia) -> tuple[int, str]:
    response = httpx.get(f"{gaia.admin_url}/readyz", timeout=5)
    return response.status_code, str(response.json()["status"])


def _publish(gaia: Gaia, function: str, code: Path) -> httpx.Response:
    body = {"code": base64.b64encode(bundles.pack(code)).decode(), "config": {}}
    with gaia.admin() as admin:
        return admin.post(f"/v1/functions/{function}/revisions", json=body)


def test_three_replicas_take_every_change_made_on_any_of_them(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    url = f"{redis_server.url}?prefix=cluster-{uuid.uuid4().hex[:8]}"
    code = write_function(tmp_path / "fn" / "greet", GREET)
    config = _file(
        tmp_path,
        """
functions:
  greet:
    code: ./fn/greet
    triggers:
      - http: {path: /greet}
""",
    )
    a, b, c = _cluster(gaia_factory, url, ["a", "b", "c"], config)
    for gaia in (a, b, c):
        assert _revision(gaia) == 1
        store = _store(gaia)
        assert (store["kind"], store["connected"], store["error"]) == ("redis", True, None)
        assert store["checked_at"] > time.time() - 60

    # A new revision deployed through B: A and C warm it before they route to it, so
    # requests to them meanwhile all succeed, old revision first, new one after.
    seen: dict[str, list[int | None]] = {"a": [], "c": []}
    stop = threading.Event()

    def watch(name: str, gaia: Gaia) -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                response = client.get(f"{gaia.url}/greet")
                ok = response.status_code == 200
                seen[name].append(response.json()["revision"] if ok else None)

    watchers = [threading.Thread(target=watch, args=(n, g)) for n, g in (("a", a), ("c", c))]
    for watcher in watchers:
        watcher.start()
    try:
        (code / "main.py").write_text(GREET + "# two\n")
        assert _publish(b, "greet", code).status_code == 201
        for gaia in (a, c):
            wait_for(partial(_serves, gaia, 2), timeout=PROPAGATION_S, what="revision 2")
    finally:
        stop.set()
        for watcher in watchers:
            watcher.join()
    for name, revisions in seen.items():
        assert None not in revisions, f"{name} failed a request while taking revision 2"
        numbers = [n or 0 for n in revisions]
        assert numbers == sorted(numbers), f"{name} went back to revision 1"

    # An alias change through C reaches A and B.
    pinned = {"traffic": [{"revision": 1, "percent": 100}]}
    with c.admin() as admin:
        assert admin.put("/v1/functions/greet/aliases/default", json=pinned).status_code == 200
    for gaia in (a, b):
        wait_for(partial(_serves, gaia, 1), timeout=PROPAGATION_S, what="the pin")
    versions = {_store(g)["version"] for g in (a, b, c)}
    assert len(versions) == 1

    # A Redis Streams trigger applied on A runs on every replica; removed, it stops on all.
    stream = f"cluster-{uuid.uuid4().hex[:8]}"
    trigger = f"{{url: '{redis_server.url}', stream: '{stream}', group: g, start: earliest}}"
    without = config.read_text()
    with_stream = without + f"      - redis: {trigger}\n"
    assert a.cli("apply", "-f", str(_file(tmp_path, with_stream))).returncode == 0
    for gaia in (a, b, c):
        wait_for(
            partial(_trigger_is, gaia, "greet/redis/1", "running"),
            timeout=PROPAGATION_S,
            what="the stream trigger running",
        )
    consumers = {str(trigger_state(g, "greet/redis/1")["consumer"]) for g in (a, b, c)}
    assert len(consumers) == 3  # one group, a consumer on each replica
    assert a.cli("apply", "-f", str(_file(tmp_path, without))).returncode == 0
    for gaia in (a, b, c):
        wait_for(
            partial(_trigger_is, gaia, "greet/redis/1", None),
            timeout=PROPAGATION_S,
            what="the stream trigger gone",
        )

    # Two admins deploy one new function through two replicas at once: one lands, the
    # other is refused, naming the change that came first, and nothing of it is stored.
    slow = {who: write_function(tmp_path / who / "race", SLOW.format(who=who)) for who in "ab"}
    with ThreadPoolExecutor(2) as pool:
        racing = {w: pool.submit(_publish, g, "race", slow[w]) for w, g in (("a", a), ("b", b))}
        answers = {who: future.result() for who, future in racing.items()}
    statuses = Counter(r.status_code for r in answers.values())
    assert statuses == Counter({201: 1, 409: 1}), {w: r.text for w, r in answers.items()}
    winner = next(w for w, r in answers.items() if r.status_code == 201)
    refused = next(r for r in answers.values() if r.status_code == 409).json()
    assert refused["error"] == "concurrent_change"
    assert refused["message"].startswith("nothing changed: the stored config moved from")
    assert f"deploy on {winner}: new function race, race@1" in refused["message"]
    for gaia in (a, b, c):
        wait_for(
            partial(_race_won_by, gaia, winner),
            timeout=PROPAGATION_S,
            what="the winner's race@1 everywhere",
        )


def _race_won_by(gaia: Gaia, winner: str) -> bool:
    """Whether `race` has one revision here, and it is `winner`'s code."""
    with gaia.admin() as admin:
        revisions = admin.get("/v1/functions/race/revisions")
        if revisions.status_code != 200:
            return False
        answers = [
            admin.post("/v1/functions/race/invoke", params={"revision": r["revision"]}).text
            for r in revisions.json()
        ]
        return answers == [winner]


# -- Redis stopped and started while traffic flows ----------------------------------------


class Traffic:
    """Requests to every replica's data plane, back to back, from a thread each, until
    stopped; each answer's status (or the error) with the time it came."""

    def __init__(self, gaias: list[Gaia], path: str) -> None:
        self.answers: list[tuple[float, str, int | str]] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(g, path), daemon=True) for g in gaias
        ]

    def _run(self, gaia: Gaia, path: str) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    outcome: int | str = client.get(f"{gaia.url}{path}").status_code
                except httpx.HTTPError as exc:
                    outcome = repr(exc)
                self.answers.append((time.monotonic(), gaia.home.name, outcome))
                time.sleep(0.005)

    def __enter__(self) -> Traffic:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def between(self, start: float, end: float) -> Counter[int | str]:
        return Counter(o for t, _, o in self.answers if start <= t <= end)


def _cron(gaia: Gaia) -> dict[str, Any]:
    return trigger_state(gaia, "greet/cron/1")


def _cron_refused(gaia: Gaia) -> bool:
    return "cannot claim the tick" in str(_cron(gaia)["error"] or "")


def _connected(gaia: Gaia, connected: bool) -> bool:
    return bool(_store(gaia)["connected"] is connected)


def test_redis_stopped_and_started_under_traffic(
    tmp_path: Path, gaia_factory: GaiaFactory, own_redis: RedisServer
) -> None:
    code = write_function(tmp_path / "fn" / "greet", GREET)
    config = _file(
        tmp_path,
        f"""
functions:
  greet:
    code: ./fn/greet
    triggers:
      - http: {{path: /greet}}
      - cron: {{schedule: "* * * * * *", lease: "{own_redis.url}", misfire_grace: 1s}}
""",
    )
    a, b = _cluster(gaia_factory, own_redis.url, ["a", "b"], config)
    pinned = {"traffic": [{"revision": 1, "percent": 100}]}
    wait_for(lambda: _cron(a)["processed"] + _cron(b)["processed"] > 0, what="a cron run")

    with Traffic([a, b], "/greet") as traffic:
        down_at, down_wall = time.monotonic(), time.time()
        own_redis.stop()
        for gaia in (a, b):
            wait_for(partial(_connected, gaia, False), what="the outage noticed")
            assert "cannot be reached" in _store(gaia)["error"]
            # Changes are refused, clearly, and change nothing.
            with gaia.admin() as admin:
                refused = admin.put("/v1/functions/greet/aliases/default", json=pinned)
            assert refused.status_code == 503, refused.text
            body = refused.json()
            assert body["error"] == "store_unavailable"
            assert body["message"].startswith(f"nothing changed: the shared store {own_redis.url}")
            # Reads answer from the config it has.
            with gaia.admin() as admin:
                assert admin.get("/v1/functions/greet").json()["latest"] == 1
            # Still ready: it serves the config it has, so a load balancer keeps it (not
            # ready everywhere at once would take the whole cluster out).
            assert _readiness(gaia) == (200, "ready")
        # Cron: no replica can claim a tick, so none runs one; each says why.
        for gaia in (a, b):
            wait_for(partial(_cron_refused, gaia), what="cron reporting the lease store down")
        runs_before = _cron(a)["processed"] + _cron(b)["processed"]
        first_next = _cron(a)["next"]
        wait_for(lambda: _cron(a)["next"] > first_next, what="a tick passing")
        second_next = _cron(a)["next"]
        wait_for(lambda: _cron(a)["next"] > second_next, what="another tick passing")
        assert _cron(a)["processed"] + _cron(b)["processed"] == runs_before
        up_at, up_wall = time.monotonic(), time.time()
        own_redis.start()
        for gaia in (a, b):
            wait_for(partial(_connected, gaia, True), what="the store back")
        wait_for(
            lambda: _cron(a)["processed"] + _cron(b)["processed"] > runs_before,
            what="cron running again",
        )
        # A change made on one replica reaches the other again.
        (code / "main.py").write_text(GREET + "# two\n")
        assert _publish(b, "greet", code).status_code == 201
        wait_for(lambda: _revision(a) == 2, timeout=PROPAGATION_S, what="revision 2 on a")
    outage = traffic.between(down_at, up_at)
    everything = Counter(o for _, _, o in traffic.answers)
    assert sum(outage.values()) > 20, "too little traffic during the outage to tell"
    assert set(everything) == {200}, everything

    # The outage's ticks ran nowhere and were not made up for after: the shared history
    # has runs before and after it, none in it, and none twice.
    with a.admin() as admin:
        answer = admin.get("/v1/triggers/greet/cron/1/history", params={"limit": 1000})
    assert answer.status_code == 200, answer.text
    runs = answer.json()
    scheduled = [run["scheduled"] for run in runs]
    assert len(scheduled) == len(set(scheduled))
    assert [t for t in scheduled if down_wall + 1 < t < up_wall - 1] == []
    assert min(scheduled) < down_wall < up_wall < max(scheduled)
    # A run going when Redis went away could not clear its mark, which counts as a run in
    # progress until it goes stale: with `overlap: skip`, ticks until then are skipped.
    stale = down_wall + RUNNING_STALE_S + 1
    # On a loaded machine a tick can also start over its 1 s misfire_grace late: that is
    # recorded as missed, and not run, as it should be.
    unfinished = [r for r in runs if r["outcome"] not in ("succeeded", "running", "missed")]
    assert [r for r in unfinished if r["outcome"] != "skipped" or r["scheduled"] > stale] == []

    # Redis comes back empty (its file lost): the replicas put their config back rather
    # than serve nothing, and go on from there.
    version = _store(a)["version"]
    own_redis.stop()
    for leftover in own_redis.workdir.rglob("appendonly*"):
        if leftover.is_file():
            leftover.unlink()
    own_redis.start()
    client = redis.Redis.from_url(own_redis.url)
    wait_for(lambda: int(client.get("gaia:version") or 0) == version, what="the config restored")
    client.close()
    assert _revision(a) == 2 and _revision(b) == 2
    with a.admin() as admin:
        assert admin.put("/v1/functions/greet/aliases/default", json=pinned).status_code == 200
    wait_for(lambda: _revision(b) == 1, timeout=PROPAGATION_S, what="the pin on b")
    assert json.loads(httpx.get(f"{b.url}/greet").text) == {"revision": 1}


def test_a_replica_started_while_redis_is_down_says_so_and_exits(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    gaia = gaia_factory(extra_env={"GAIA_STORE": nowhere}).start(wait=False)
    assert gaia.process is not None
    assert gaia.process.wait(60) == 1
    assert f"gaia: the shared store {nowhere} cannot be reached (" in gaia.logs()
    assert "): start it, or check GAIA_STORE" in gaia.logs()


PRINT_TICK = """
def handler(event, context):
    print("tick run", event.id, "on", event.replica, flush=True)
    return event.id
"""
_TICK_LINE = re.compile(r"tick run (\S+) on (\S+)")


def _ticks_run(gaia: Gaia) -> list[tuple[str, str]]:
    """(run id, replica) of each run the function printed in this gateway's log."""
    lines = (str(entry.get("line", "")) for entry in gaia.json_logs())
    return [(m[1], m[2]) for m in map(_TICK_LINE.search, lines) if m]


def test_a_cron_trigger_runs_each_tick_once_across_the_replicas_without_a_lease(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    """In cluster mode the replicas claim each tick in the shared store's Redis: a
    trigger needs no `lease` of its own to run once per tick, not once per replica."""
    prefix = f"cron-{uuid.uuid4().hex[:8]}"
    write_function(tmp_path / "fn" / "greet", PRINT_TICK)
    config = _file(
        tmp_path,
        """
functions:
  greet:
    code: ./fn/greet
    triggers:
      - cron: {schedule: "* * * * * *", misfire_grace: 2s}
""",
    )
    replicas = _cluster(
        gaia_factory, f"{redis_server.url}?prefix={prefix}", ["a", "b", "c"], config
    )
    trigger = "greet/cron/0"

    def runs() -> list[tuple[str, str]]:
        return [run for gaia in replicas for run in _ticks_run(gaia)]

    wait_for(lambda: len({r for r, _ in runs()}) >= 6, timeout=40, what="six ticks run")
    seen = runs()
    per_tick = Counter(run_id for run_id, _ in seen)
    assert [t for t, n in per_tick.items() if n > 1] == [], f"ticks run twice: {seen}"
    # Each replica ran its runs: the log it printed in is the replica the event names.
    for gaia, name in zip(replicas, ["a", "b", "c"], strict=True):
        assert {replica for _, replica in _ticks_run(gaia)} <= {name}
        state = trigger_state(gaia, trigger)
        assert state["lease"] == "redis", state
    # The history is the shared one: any replica shows the runs of all.
    with replicas[0].admin() as admin:
        history = admin.get(f"/v1/triggers/{trigger}/history", params={"limit": 1000}).json()
    assert {run["run_id"] for run in history} >= set(per_tick)
    assert len({run["run_id"] for run in history}) == len(history)


def test_a_follower_is_ready_only_once_it_has_the_stores_config_warm(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    """A replica started from the store alone answers /readyz 503 while it loads the
    config from Redis and warms what it routes to, and 200 only once it serves it."""
    url = f"{redis_server.url}?prefix=ready-{uuid.uuid4().hex[:8]}"
    write_function(tmp_path / "fn" / "race", SLOW.format(who="slow"))
    config = _file(
        tmp_path,
        """
functions:
  race:
    code: ./fn/race
    triggers:
      - http: {path: /race}
""",
    )
    first = gaia_factory("a", extra_env={"GAIA_STORE": url, "GAIA_REPLICA": "a"})
    first.start("-f", str(config), wait=True)
    follower = gaia_factory("b", extra_env={"GAIA_STORE": url, "GAIA_REPLICA": "b"})
    follower.start(wait=False)
    wait_for(
        lambda: httpx.get(f"{follower.admin_url}/healthz", timeout=2).status_code == 200,
        timeout=60,
        what="the follower alive",
    )
    # Its revision takes 2 s to import: not ready before that, whatever the phase.
    status, phase = _readiness(follower)
    assert (status, phase) in {(503, "starting"), (503, "warming")}
    wait_for(lambda: _readiness(follower) == (200, "ready"), timeout=60, what="ready")
    # Ready means serving the store's config at once, warm.
    # (a cold instance would take the 2 s import first)
    answered = httpx.get(f"{follower.url}/race", timeout=1.9)
    assert (answered.status_code, answered.text) == (200, "slow")
    assert _store(follower)["version"] == _store(first)["version"]
