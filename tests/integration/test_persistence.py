"""Everything survives a restart of the gateway, and the pools warm again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.functions import VERSIONED
from tests.integration.harness import GaiaFactory, write_function


def test_restart_restores_functions_revisions_aliases_and_triggers(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    write_function(tmp_path / "greet", VERSIONED.replace("{version}", "v1"))
    config = tmp_path / "gaia.yaml"
    config.write_text(
        """
functions:
  greet:
    code: ./greet
    triggers:
      - http: {path: /greet, alias: prod}
    aliases:
      prod: {traffic: [{revision: 1, percent: 100}]}
"""
    )
    gaia = gaia_factory().start("-f", str(config))
    write_function(tmp_path / "greet", VERSIONED.replace("{version}", "v2"))
    assert gaia.cli("deploy", "greet", "--code", str(tmp_path / "greet")).returncode == 0
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
