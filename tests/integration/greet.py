"""The `greet` function as several integration tests set it up: a gaia.yaml serving it on
`/greet` through alias `prod`, and new revisions deployed through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.integration.functions import VERSIONED
from tests.integration.harness import Gaia, write_function


def deploy(gaia: Gaia, code: Path, version: str) -> dict[str, object]:
    write_function(code, VERSIONED.replace("{version}", version))
    result = gaia.cli("deploy", "greet", "--code", str(code), "-o", "json")
    assert result.returncode == 0, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def greet_config(tmp_path: Path, *, prod: str = "latest") -> Path:
    """gaia.yaml with greet@1 (`v1`): `/greet` through `prod` (all to revision `prod`),
    `/greet-default` through `default`."""
    write_function(tmp_path / "greet", VERSIONED.replace("{version}", "v1"))
    config = tmp_path / "gaia.yaml"
    config.write_text(
        f"""
functions:
  greet:
    code: ./greet
    aliases:
      prod:
        traffic: [{{revision: {prod}, percent: 100}}]
    triggers:
      - http: {{path: /greet, alias: prod}}
      - http: {{path: /greet-default}}
"""
    )
    return config
