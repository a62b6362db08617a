"""Everything survives a restart of the gateway, and the pools warm again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gateway.admin.schemas import AliasChangeView, AliasView
from tests.integration.greet import deploy, greet_config
from tests.integration.harness import GaiaFactory


def test_restart_restores_functions_revisions_aliases_and_triggers(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(greet_config(tmp_path, prod="1")))
    deploy(gaia, tmp_path / "greet", "v2")
    assert gaia.cli("alias", "set", "greet:prod", "1=0", "2=100", "--tag", "1=old").returncode == 0
    with gaia.data() as http:
        assert http.get("/greet").text == "v2"
    before = json.loads(gaia.cli("status", "-o", "json").stdout)["functions"]
    assert gaia.stop() == 0

    # Restart without -f: everything must come from GAIA_HOME.
    gaia.start()
    after = json.loads(gaia.cli("status", "-o", "json").stdout)
    assert after["functions"] == before
    assert {p["revision"] for p in after["pools"] if p["ready"] > 0} >= {"greet@1", "greet@2"}
    with gaia.data() as http:
        assert http.get("/greet").text == "v2"
        assert http.get("/greet", headers={"x-gaia-tag": "old"}).text == "v1"


def _stored(spec: dict[str, object]) -> str:
    """An alias spec as the previous release's SQLite store wrote it (`_json(to_dict())`)."""
    return json.dumps(spec, sort_keys=True, separators=(",", ":"))


# Specs the previous release accepted and stored: its rules let a tag be any non-empty
# string, a revision be listed twice and a sticky name hold a space; today's refuse all three.
SERVING: dict[str, object] = {
    "traffic": [
        {"revision": 2, "percent": 50.0, "tag": "Next_V2"},
        {"revision": 2, "percent": 50.0},
        {"revision": 1, "percent": 0.0, "tag": "Old"},
    ],
    "sticky": "header:x user",
}
EARLIER: dict[str, object] = {
    "traffic": [{"revision": 1, "percent": 50.0}, {"revision": 1, "percent": 50.0}]
}


def test_aliases_stored_under_older_rules_still_load_and_serve(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(greet_config(tmp_path, prod="1")))
    deploy(gaia, tmp_path / "greet", "v2")
    assert gaia.stop() == 0
    with sqlite3.connect(gaia.home / "gaia.db") as db:
        db.execute(
            "UPDATE aliases SET spec = ? WHERE function = 'greet' AND name = 'prod'",
            (_stored(SERVING),),
        )
        db.execute(
            "INSERT INTO alias_history (function, alias, at, before, after, by) "
            "VALUES ('greet', 'prod', 2.0, ?, ?, 'alias set')",
            (_stored(EARLIER), _stored(SERVING)),
        )
    db.close()

    gaia.start()
    with gaia.data() as http:
        assert {http.get("/greet").text for _ in range(20)} == {"v2"}
        assert http.get("/greet", headers={"x-gaia-tag": "Old"}).text == "v1"
        assert http.get("/greet", headers={"x-gaia-tag": "Next_V2"}).text == "v2"
    shown = json.loads(gaia.cli("alias", "show", "greet:prod", "-o", "json").stdout)
    assert [(t["revision"], t["percent"], t["tag"]) for t in shown["traffic"]] == [
        (2, 50.0, "Next_V2"),
        (2, 50.0, None),
        (1, 0.0, "Old"),
    ]
    assert shown["sticky"] == "header:x user"
    warned = [
        entry["message"]
        for entry in gaia.json_logs()
        if entry.get("logger") == "gaia.store" and entry.get("level") == "warning"
    ]
    assert len(warned) == 1, warned
    assert "alias greet:prod is served as stored" in str(warned[0])

    # A new write follows today's rules, with today's message, and changes nothing.
    refused = gaia.cli("alias", "set", "greet:prod", "2=50", "2=50")
    assert refused.returncode == 1
    assert "revision 2 is listed twice" in refused.stderr
    with gaia.data() as http:
        assert http.get("/greet", headers={"x-gaia-tag": "Old"}).text == "v1"

    # The history stored by the previous release rolls back to what it recorded.
    history = json.loads(gaia.cli("alias", "history", "greet:prod", "-o", "json").stdout)
    assert history[-1]["from"] == EARLIER | {"sticky": None}
    assert history[-1]["to"] == SERVING
    # The answers hold to the schemas /openapi.json publishes for them.
    AliasView.model_validate(shown)
    for change in history:
        AliasChangeView.model_validate(change)
    assert gaia.cli("rollback", "greet:prod").returncode == 0
    with gaia.data() as http:
        assert {http.get("/greet").text for _ in range(20)} == {"v1"}
