"""`gaia dev`: a save is a new revision serving within about a second; a broken save is not."""

from __future__ import annotations

import re
import time
from pathlib import Path

from tests.integration.functions import VERSIONED
from tests.integration.harness import GaiaFactory, wait_for, write_function


def test_each_save_publishes_and_serves_a_broken_one_changes_nothing(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    code = write_function(tmp_path / "greet", VERSIONED.replace("{version}", "v1"))
    config = tmp_path / "gaia.yaml"
    config.write_text(
        "functions:\n  greet:\n    code: ./greet\n    triggers:\n      - http: {path: /greet}\n"
    )
    gaia = gaia_factory().start("-f", str(config), command="dev")
    wait_for(lambda: "watching 1 function" in gaia.logs(), what="the watcher")
    http = gaia.data()

    saved = time.monotonic()
    (code / "main.py").write_text(VERSIONED.replace("{version}", "v2"))
    wait_for(lambda: http.get("/greet").text == "v2", timeout=5, what="v2 to serve")
    assert time.monotonic() - saved < 2.0
    wait_for(lambda: "greet@2" in gaia.logs() and "after save" in gaia.logs(), what="the line")

    (code / "main.py").write_text("def handler(event, context):\n    return (\n")
    wait_for(lambda: "not published" in gaia.logs(), timeout=5, what="the import error")
    logs = gaia.logs()
    assert f"{code}/main.py" in logs and "line 2" in logs
    assert http.get("/greet").text == "v2"
    revisions = gaia.cli("revisions", "greet", "-o", "json").stdout
    assert '"revision": 3' not in revisions
    # The failure names the function and the save, not a number it never published.
    assert "greet: the save was not published" in logs and "greet@3" not in logs

    # Fixed back to greet@2's code: nothing new to publish, but it says it serves again.
    (code / "main.py").write_text(VERSIONED.replace("{version}", "v2"))
    wait_for(lambda: "serving again" in gaia.logs(), timeout=5, what="the all-clear")
    assert re.search(r"^greet@2 \w{12} serving again \d+ ms after save", gaia.logs(), re.M)

    # gaia.yaml itself is watched too: a new route appears without a restart.
    config.write_text(config.read_text() + "      - http: {path: /hi}\n")
    (code / "main.py").write_text(VERSIONED.replace("{version}", "v3"))
    wait_for(lambda: http.get("/hi").status_code == 200, timeout=5, what="the new route")
    http.close()
