"""requirements.txt: installed into the revision at publish, cached by the file's hash."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.harness import GaiaFactory, write_function

USES_SIX = """
import six

def handler(event, context):
    return {"six": six.__version__, "version": "{version}"}
"""


def _stages(stdout: str) -> dict[str, float]:
    return {
        line.split()[0]: float(line.split()[1])
        for line in stdout.splitlines()
        if line.endswith(" ms")
    }


def test_requirements_install_once_and_a_failed_install_changes_nothing(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    code = write_function(
        tmp_path / "dep",
        USES_SIX.replace("{version}", "1"),
        files=[("requirements.txt", "six==1.16.0\n")],
    )
    config = tmp_path / "gaia.yaml"
    config.write_text(
        "functions:\n  dep:\n    code: ./dep\n    triggers:\n      - http: {path: /dep}\n"
    )
    gaia = gaia_factory().start("-f", str(config))
    with gaia.data() as http:
        assert http.get("/dep").json() == {"six": "1.16.0", "version": "1"}

    # Same requirements, new code: the install is reused (no dependencies stage at all).
    (code / "main.py").write_text(USES_SIX.replace("{version}", "2"))
    deployed = gaia.cli("deploy", "dep", "--code", str(code))
    assert deployed.returncode == 0, deployed.stderr
    assert (
        "dependencies" not in _stages(deployed.stdout)
        or _stages(deployed.stdout)["dependencies"] < 50
    )
    with gaia.data() as http:
        assert http.get("/dep").json()["version"] == "2"

    (code / "requirements.txt").write_text("gaia-no-such-package-anywhere==0.0.1\n")
    (code / "main.py").write_text(USES_SIX.replace("{version}", "3"))
    failed = gaia.cli("deploy", "dep", "--code", str(code))
    assert failed.returncode == 1
    assert "pip could not install requirements.txt" in failed.stderr
    assert "gaia-no-such-package-anywhere" in failed.stderr
    with gaia.data() as http:
        assert http.get("/dep").json()["version"] == "2"
    revisions = json.loads(gaia.cli("revisions", "dep", "-o", "json").stdout)
    assert [r["revision"] for r in revisions] == [1, 2]
