"""Publishing revisions and shifting traffic between them, through the CLI and admin API."""

from __future__ import annotations

import concurrent.futures
import json
import threading
from collections import Counter
from pathlib import Path

from tests.integration.functions import VERSIONED
from tests.integration.greet import deploy, greet_config
from tests.integration.harness import GaiaFactory, wait_for, write_function


def test_publish_creates_revisions_and_same_digest_creates_none(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(greet_config(tmp_path)))
    code = tmp_path / "greet"
    first = deploy(gaia, code, "v1")
    assert (first["revision"], first["created"]) == (1, False)
    second = deploy(gaia, code, "v2")
    assert (second["revision"], second["created"]) == (2, True)
    again = deploy(gaia, code, "v2")
    assert (again["revision"], again["created"]) == (2, False)
    assert again["digest"] == second["digest"]

    listing = json.loads(gaia.cli("revisions", "greet", "-o", "json").stdout)
    assert [r["revision"] for r in listing] == [1, 2]
    table = gaia.cli("revisions", "greet").stdout
    assert "greet@2" in table and "greet@1" in table and "NAME" in table

    with gaia.data() as http:
        # `latest` follows the newest revision; a pinned revision is reachable directly.
        assert http.get("/greet").text == "v2"
        assert http.get("/greet-default").text == "v2"
    assert gaia.cli("invoke", "greet@1").stdout.strip() == "v1"
    # Bundles are immutable on disk.
    bundle = gaia.home / "bundles" / str(first["digest"]) / "main.py"
    assert "v1" in bundle.read_text()
    assert not bundle.stat().st_mode & 0o222


def test_weighted_split_tag_routing_and_stickiness(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(greet_config(tmp_path)))
    code = tmp_path / "greet"
    deploy(gaia, code, "v2")
    result = gaia.cli(
        "alias", "set", "greet:prod", "1=80", "2=20", "--tag", "2=canary", "-o", "json"
    )
    assert result.returncode == 0, result.stderr
    shown = json.loads(gaia.cli("alias", "show", "greet:prod", "-o", "json").stdout)
    assert [(t["revision"], t["percent"], t["tag"]) for t in shown["traffic"]] == [
        (1, 80.0, None),
        (2, 20.0, "canary"),
    ]

    with gaia.data() as http:
        counts = Counter(http.get("/greet").text for _ in range(600))
        # 20% of 600 = 120, sigma ~ 9.8: +-45 is about 4.6 sigma.
        assert 75 <= counts["v2"] <= 165, counts
        assert counts["v1"] + counts["v2"] == 600
        tagged = {http.get("/greet", headers={"x-gaia-tag": "canary"}).text for _ in range(20)}
        assert tagged == {"v2"}
        unknown = http.get("/greet", headers={"x-gaia-tag": "nope"})
        assert unknown.status_code == 404

    with gaia.admin() as admin:
        updated = admin.put(
            "/v1/functions/greet/aliases/prod",
            json={
                "traffic": [{"revision": 1, "percent": 50}, {"revision": 2, "percent": 50}],
                "sticky": "header:x-user",
            },
        )
        assert updated.status_code == 200, updated.text
    with gaia.data() as http:
        for user in ("ada", "grace", "linus", "barbara", "ken"):
            seen = {http.get("/greet", headers={"x-user": user}).text for _ in range(10)}
            assert len(seen) == 1, (user, seen)


def test_alias_errors_name_the_field_and_change_nothing(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(greet_config(tmp_path)))
    with gaia.admin() as admin:
        before = admin.get("/v1/functions/greet/aliases/prod").json()
        bad_sum = admin.put(
            "/v1/functions/greet/aliases/prod",
            json={"traffic": [{"revision": 1, "percent": 60}]},
        )
        assert bad_sum.status_code == 422
        assert bad_sum.json()["field"] == "traffic"
        missing_revision = admin.put(
            "/v1/functions/greet/aliases/prod",
            json={"traffic": [{"revision": 9, "percent": 100}]},
        )
        assert missing_revision.status_code == 422
        assert missing_revision.json()["field"] == "traffic[0].revision"
        wrong_type = admin.put("/v1/functions/greet/aliases/prod", json={"traffic": "all of it"})
        assert wrong_type.status_code == 422
        assert wrong_type.json()["field"] == "traffic"
        assert admin.get("/v1/functions/greet/aliases/prod").json() == before
        assert admin.get("/v1/functions/nope/aliases/prod").status_code == 404


def test_alias_history_and_rollback(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    gaia = gaia_factory().start("-f", str(greet_config(tmp_path)))
    deploy(gaia, tmp_path / "greet", "v2")
    assert gaia.cli("alias", "set", "greet:prod", "1=100").returncode == 0
    assert gaia.cli("alias", "set", "greet:prod", "2=100").returncode == 0
    with gaia.data() as http:
        assert http.get("/greet").text == "v2"

    rolled = gaia.cli("rollback", "greet:prod", "-o", "json")
    assert rolled.returncode == 0, rolled.stderr
    assert json.loads(rolled.stdout)["traffic"][0]["revision"] == 1
    with gaia.data() as http:
        assert http.get("/greet").text == "v1"

    history = json.loads(gaia.cli("alias", "history", "greet:prod", "-o", "json").stdout)
    assert [h["by"] for h in history] == ["apply", "alias set", "alias set", "rollback"]
    assert history[-1]["from"]["traffic"] == [{"revision": 2, "percent": 100.0}]
    assert history[-1]["to"]["traffic"] == [{"revision": 1, "percent": 100.0}]
    table = gaia.cli("alias", "history", "greet:prod").stdout
    assert "rollback" in table and "WHEN" in table

    nothing = gaia.cli("rollback", "greet:default")
    assert nothing.returncode == 1
    assert "no earlier traffic" in nothing.stderr


def test_deploy_shows_its_stages_and_the_urls_that_reach_it(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(greet_config(tmp_path)))
    write_function(tmp_path / "greet", VERSIONED.replace("{version}", "v2"))
    result = gaia.cli("deploy", "greet", "--code", str(tmp_path / "greet"))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines[:4]] == ["package", "store", "warm", "ready"]
    assert all(line.split()[-1] == "ms" for line in lines[:4])
    assert "created greet@2" in result.stdout
    # Both triggers follow `latest`, so both reach the new revision.
    urls = [line.strip() for line in lines[5:] if line.startswith("  ")]
    assert sorted(urls) == [f"{gaia.url}/greet", f"{gaia.url}/greet-default"]
    assert lines[-1] == "serving: greet:default, greet:prod"


def test_retention_deletes_old_unreferenced_revisions_only(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(greet_config(tmp_path)), "--keep-revisions", "1")
    assert gaia.cli("alias", "set", "greet:prod", "1=100").returncode == 0
    digests = [deploy(gaia, tmp_path / "greet", f"v{n}")["digest"] for n in range(2, 6)]
    listing = json.loads(gaia.cli("revisions", "greet", "-o", "json").stdout)
    # 1: pinned by prod; 5: latest; 4: the one unreferenced revision kept.
    assert [r["revision"] for r in listing] == [1, 4, 5]
    assert not (gaia.home / "bundles" / str(digests[0])).exists()
    assert gaia.cli("invoke", "greet@1").stdout.strip() == "v1"
    missing = gaia.cli("invoke", "greet@2")
    assert missing.returncode == 1


SLOW_VERSIONED = """
import time

def handler(event, context):
    time.sleep(float(event.query.get("s", "0")))
    return "{version}"
"""


def test_switching_an_alias_drops_no_request(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    config = greet_config(tmp_path)
    write_function(tmp_path / "greet", SLOW_VERSIONED.replace("{version}", "v1"))
    gaia = gaia_factory().start("-f", str(config))
    write_function(tmp_path / "greet", SLOW_VERSIONED.replace("{version}", "v2"))
    assert gaia.cli("deploy", "greet", "--code", str(tmp_path / "greet")).returncode == 0
    assert gaia.cli("alias", "set", "greet:prod", "1=100").returncode == 0
    stop = threading.Event()
    statuses: Counter[int] = Counter()
    bodies: Counter[str] = Counter()

    def load() -> None:
        with gaia.data() as http:
            while not stop.is_set():
                response = http.get("/greet")
                statuses[response.status_code] += 1
                bodies[response.text] += 1

    with (
        gaia.data() as http,
        gaia.admin() as admin,
        concurrent.futures.ThreadPoolExecutor(5) as pool,
    ):
        # An invocation in flight on revision 1 finishes there, after the switch.
        in_flight = pool.submit(http.get, "/greet", params={"s": "1"})

        def running_on_revision_1() -> bool:
            pools = admin.get("/v1/status").json()["pools"]
            return any(p["revision"] == "greet@1" and p["in_flight"] > 0 for p in pools)

        wait_for(running_on_revision_1, what="the slow invocation to start")
        workers = [pool.submit(load) for _ in range(4)]
        for switch in range(12):
            revision = 2 if switch % 2 == 0 else 1
            response = admin.put(
                "/v1/functions/greet/aliases/prod",
                json={"traffic": [{"revision": revision, "percent": 100}]},
            )
            assert response.status_code == 200, response.text
        stop.set()
        for worker in workers:
            worker.result()
        slow = in_flight.result()
    assert (slow.status_code, slow.text, slow.headers["x-gaia-revision"]) == (200, "v1", "greet@1")
    assert set(statuses) == {200}, statuses
    assert set(bodies) == {"v1", "v2"}
