"""`gaia up -f FILE` applies the file only when the store has not applied it at a start
before: real gateways on a real redis-server (cluster mode) and on the embedded SQLite
store. A change made through the admin API survives a restart with the same file; a
changed file (or changed code beside it) applies; `--reapply` applies regardless; and
replicas starting together with a new file store it once."""

from __future__ import annotations

import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.brokers.redis import RedisServer
from tests.integration.harness import Gaia, GaiaFactory, admin_json, wait_for, write_function

GREET = """
def handler(event, context):
    return {"revision": context.revision}
"""
FILE = """
functions:
  greet:
    code: ./fn/greet
    aliases:
      prod:
        traffic:
          - {revision: 1, percent: 100}
    triggers:
      - http: {path: /greet, alias: prod}
"""
UNCHANGED = "gaia.yaml unchanged since it was last applied (sha256 "
KEPT = "): the store's state is kept, including changes made since through the API"
APPLIED = "applied gaia.yaml (sha256 "
PROPAGATION_S = 10.0


def _project(tmp_path: Path, code: str = GREET) -> Path:
    write_function(tmp_path / "fn" / "greet", code)
    path = tmp_path / "gaia.yaml"
    path.write_text(FILE)
    return path


def _revision(gaia: Gaia) -> int | None:
    response = httpx.get(f"{gaia.url}/greet", timeout=5)
    return int(response.json()["revision"]) if response.status_code == 200 else None


def _messages(gaia: Gaia, start: str) -> list[str]:
    """The gateway's log messages that start with `start`, oldest first."""
    return [str(e["message"]) for e in gaia.json_logs() if str(e.get("message")).startswith(start)]


def _version(gaia: Gaia) -> int:
    return int(admin_json(gaia, "/v1/status")["store"]["version"])


def _prod_history(gaia: Gaia) -> list[str]:
    return [str(h["by"]) for h in admin_json(gaia, "/v1/functions/greet/aliases/prod/history")]


def _pin_revision_2(gaia: Gaia, tmp_path: Path) -> None:
    """What an operator does between releases: deploy new code, shift prod to it."""
    write_function(tmp_path / "v2", GREET + "# two\n")
    deployed = gaia.cli("deploy", "greet", "--code", str(tmp_path / "v2"))
    assert deployed.returncode == 0, deployed.stderr
    shifted = gaia.cli("alias", "set", "greet:prod", "2=100")
    assert shifted.returncode == 0, shifted.stderr
    assert _revision(gaia) == 2


def _restart(gaia: Gaia, *args: str) -> None:
    assert gaia.stop() == 0
    gaia.log_path.unlink()  # the next start's lines alone
    gaia.start(*args)


def _replicas(gaia_factory: GaiaFactory, redis_server: RedisServer, names: list[str]) -> list[Gaia]:
    url = f"{redis_server.url}?prefix=startup-{uuid.uuid4().hex[:8]}"
    return [gaia_factory(n, extra_env={"GAIA_STORE": url, "GAIA_REPLICA": n}) for n in names]


# An old API's route, in the ledger; nothing serves the upstream: no request goes there.
LEDGER = """
legacy:
  upstream: http://127.0.0.1:9
  routes:
    - {path: "/items/{id}", methods: [GET], function: "greet:prod", state: legacy}
"""


def _startup_digests(*replicas: Gaia) -> set[str]:
    """The start-up file digest each replica's /v1/status shows, as the log's 12 digits."""
    shown = {admin_json(gaia, "/v1/status")["startup_file_sha256"] for gaia in replicas}
    assert all(len(digest) == 64 for digest in shown), shown
    return {digest[:12] for digest in shown}


def _route_state(gaia: Gaia) -> str:
    (route,) = admin_json(gaia, "/v1/migrate")["routes"]
    return str(route["state"])


def test_an_api_change_survives_a_replica_restart_with_the_same_file(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    config = _project(tmp_path)
    config.write_text(FILE + LEDGER)
    a, b = _replicas(gaia_factory, redis_server, ["a", "b"])
    a.start("-f", str(config))
    (applied,) = _messages(a, APPLIED)
    b.start("-f", str(config))  # as every replica of deploy/k8s does
    (unchanged,) = _messages(b, UNCHANGED)
    assert unchanged.endswith(KEPT + " (--reapply applies it anyway)")
    digest = applied.removeprefix(APPLIED)[:12]
    assert unchanged.removeprefix(UNCHANGED)[:12] == digest

    _pin_revision_2(b, tmp_path)
    moved = b.cli("migrate", "set", "/items/{id}", "shadow")
    assert moved.returncode == 0, moved.stderr
    wait_for(lambda: _revision(a) == 2, timeout=PROPAGATION_S, what="the pin on a")
    wait_for(lambda: _route_state(a) == "shadow", timeout=PROPAGATION_S, what="shadow on a")
    version = _version(a)
    for gaia in (a, b):
        _restart(gaia, "-f", str(config))
        # Serving the pin as soon as it is ready: the file was not applied over it.
        assert _revision(gaia) == 2
        assert _route_state(gaia) == "shadow"
        assert _messages(gaia, APPLIED) == []
        assert [m.removeprefix(UNCHANGED)[:12] for m in _messages(gaia, UNCHANGED)] == [digest]
    assert _revision(a) == _revision(b) == 2
    assert _version(a) == _version(b) == version
    assert _startup_digests(a, b) == {digest}
    assert _prod_history(a) == ["apply", "alias set"]


def test_a_changed_file_or_changed_code_applies_at_restart(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    config = _project(tmp_path)
    a, b = _replicas(gaia_factory, redis_server, ["a", "b"])
    a.start("-f", str(config))
    b.start("-f", str(config))
    _pin_revision_2(a, tmp_path)

    # A new release of the file: it says prod is revision 1, tagged; the pin goes, on
    # every replica.
    config.write_text(FILE.replace("percent: 100}", "percent: 100, tag: stable}"))
    (first,) = _startup_digests(a, b)
    _restart(a, "-f", str(config))
    (applied,) = _messages(a, APPLIED)
    assert _revision(a) == 1
    wait_for(lambda: _revision(b) == 1, timeout=PROPAGATION_S, what="the new file on b")
    assert _startup_digests(a, b) == {applied.removeprefix(APPLIED)[:12]} != {first}
    with b.data() as http:
        assert http.get("/greet", headers={"x-gaia-tag": "stable"}).json() == {"revision": 1}

    # New code under the same file (a ConfigMap carries both): applied too, publishing
    # revision 3, and the file's traffic replaces the pin made meanwhile.
    _pin_revision_2(b, tmp_path)
    wait_for(lambda: _revision(a) == 2, timeout=PROPAGATION_S, what="the pin on a")
    write_function(tmp_path / "fn" / "greet", GREET + "# three\n")
    _restart(a, "-f", str(config))
    assert len(_messages(a, APPLIED)) == 1
    assert _revision(a) == 1
    revisions = admin_json(a, "/v1/functions/greet/revisions")
    assert sorted(r["revision"] for r in revisions) == [1, 2, 3]
    assert _prod_history(a) == ["apply", "alias set", "apply", "alias set", "apply"]


def test_reapply_applies_the_same_file_again(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    config = _project(tmp_path)
    (a,) = _replicas(gaia_factory, redis_server, ["a"])
    a.start("-f", str(config))
    _pin_revision_2(a, tmp_path)
    _restart(a, "-f", str(config), "--reapply")
    assert len(_messages(a, APPLIED)) == 1
    assert _messages(a, UNCHANGED) == []
    assert _revision(a) == 1
    assert _prod_history(a) == ["apply", "alias set", "apply"]


def test_reapply_without_a_file_is_refused(gaia_factory: GaiaFactory) -> None:
    gaia = gaia_factory()
    refused = gaia.cli("up", "--reapply", "--port", "1", "--admin-port", "2")
    assert (refused.returncode, refused.stderr) == (
        1,
        "gaia: --reapply applies the file given with -f: pass -f FILE\n",
    )
    assert not gaia.home.exists()


# Each worker that imports this waits until the test's barrier answers: the barrier does
# once two imports wait at once, one per replica, so both replicas have planned the apply
# before either stores it.
BARRIER = """
import socket

with socket.create_connection(("127.0.0.1", {port}), timeout=120) as barrier:
    barrier.recv(1)

def handler(event, context):
    return {{"revision": context.revision}}
"""


class Barrier:
    """Answers every connection once `parties` of them wait at once, and every later one
    at once."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.released = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        # A close would not wake an accept() blocked in another thread: it polls instead.
        self._listener.settimeout(0.1)
        self._stop = threading.Event()
        self.port = self._listener.getsockname()[1]
        self._waiting: list[socket.socket] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            self._waiting.append(connection)
            if len(self._waiting) >= self.parties:
                self.released = True
            if self.released:
                for waiting in self._waiting:
                    waiting.sendall(b"x")
                    waiting.close()
                self._waiting.clear()

    def __enter__(self) -> Barrier:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()
        for waiting in self._waiting:
            waiting.close()


@pytest.fixture
def barrier() -> Iterator[Barrier]:
    with Barrier(parties=2) as started:
        yield started


def test_replicas_starting_together_with_a_new_file_store_it_once(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer, barrier: Barrier
) -> None:
    config = _project(tmp_path, BARRIER.format(port=barrier.port))
    replicas = _replicas(gaia_factory, redis_server, ["a", "b"])
    for gaia in replicas:
        gaia.start("-f", str(config), wait=False)
    for gaia in replicas:
        gaia.wait_ready(timeout=90)
    assert barrier.released  # both planned on the empty store: they raced

    applied = [m for g in replicas for m in _messages(g, APPLIED)]
    unchanged = [m for g in replicas for m in _messages(g, UNCHANGED)]
    assert (len(applied), len(unchanged)) == (1, 1), (applied, unchanged)
    assert applied[0].removeprefix(APPLIED)[:12] == unchanged[0].removeprefix(UNCHANGED)[:12]
    loser = next(g for g in replicas if _messages(g, UNCHANGED))
    assert _messages(loser, "another gateway changed the store first: planning gaia.yaml")
    for gaia in replicas:
        assert _revision(gaia) == 1
        assert _version(gaia) == 1  # one write in all
        assert _prod_history(gaia) == ["apply"]
        assert [r["revision"] for r in admin_json(gaia, "/v1/functions/greet/revisions")] == [1]


def test_on_sqlite_an_api_change_survives_a_restart_with_the_same_file(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    config = _project(tmp_path)
    gaia = gaia_factory()
    gaia.start()  # an empty GAIA_HOME: the examples are its start-up file
    (examples,) = _startup_digests(gaia)
    _restart(gaia, "-f", str(config))
    assert _startup_digests(gaia) != {examples}
    assert admin_json(gaia, "/v1/status")["store"]["kind"] == "sqlite"
    _pin_revision_2(gaia, tmp_path)
    _restart(gaia, "-f", str(config))
    assert _messages(gaia, APPLIED) == []
    assert len(_messages(gaia, UNCHANGED)) == 1
    assert _revision(gaia) == 2
    assert _prod_history(gaia) == ["apply", "alias set"]

    config.write_text(FILE + "# the next release\n")
    _restart(gaia, "-f", str(config))
    assert len(_messages(gaia, APPLIED)) == 1
    assert _revision(gaia) == 1
