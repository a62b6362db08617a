"""`gaia migrate` against real gateways: the ledger applied from gaia.yaml, moved through
its states by the CLI, gated on evidence, recorded, and kept across a restart.

The evidence comes from a JSON file the test writes (tests/integration/observed_gaia.py)
until the router is wired in; the last test runs the plain `gaia`, whose router has seen
nothing.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.functions import VERSIONED
from tests.integration.harness import Gaia, GaiaFactory, write_function

OBSERVED = [sys.executable, "-m", "tests.integration.observed_gaia"]
# The gateway runs in its GAIA_HOME's parent directory: `tests` must be importable there.
REPOSITORY = Path(__file__).resolve().parents[2]

CONFIG = """\
functions:
  items:
    code: ./items
    aliases:
      prod: {{traffic: [{{revision: latest, percent: 100}}]}}
legacy:
  upstream: http://127.0.0.1:9
  routes:
    - path: "/items/{{id}}"
      function: items:prod
      state: {state}
    - {{path: /orders, methods: [GET, POST]}}
"""


def _config(tmp_path: Path, state: str = "shadow") -> Path:
    write_function(tmp_path / "items", VERSIONED.replace("{version}", "v1"))
    path = tmp_path / "gaia.yaml"
    path.write_text(CONFIG.format(state=state))
    return path


@pytest.fixture
def observed(tmp_path: Path) -> Iterator[tuple[Gaia, Path]]:
    figures = tmp_path / "observations.json"
    gaia = Gaia(
        tmp_path / "home",
        extra_env={"GAIA_TEST_OBSERVATIONS": str(figures), "PYTHONPATH": str(REPOSITORY)},
        program=OBSERVED,
    )
    yield gaia, figures
    gaia.kill()


def _json(gaia: Gaia, *args: str) -> Any:
    result = gaia.cli(*args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_ledger_through_the_cli_gated_forced_recorded_and_kept(
    observed: tuple[Gaia, Path], tmp_path: Path
) -> None:
    gaia, figures = observed
    gaia.start()
    config = _config(tmp_path)
    applied = gaia.cli("apply", "-f", str(config), "--by", "ci")
    assert applied.returncode == 0, applied.stderr
    assert "legacy routes: 2 added, 0 changed, 0 removed" in applied.stdout

    status = _json(gaia, "migrate", "status")
    assert [(r["path"], r["state"], r["evidence"]) for r in status["routes"]] == [
        ("/items/{id}", "shadow", None),
        ("/orders", "legacy", None),
    ]
    assert status["taken_over"] is None

    figures.write_text(
        json.dumps(
            {
                "evidence": {
                    "/items/{id}": {
                        "samples": 140,
                        "mismatches": 5,
                        "legacy": [140, 2],
                        "noise_paths": ["$.id", "$.at"],
                    }
                },
                "totals": [1000, 250],
                "discovered": [
                    {
                        "pattern": pattern,
                        "methods": methods,
                        "requests": n,
                        "share": n / 1000,
                        "error_rate": 0.01,
                        "p50_ms": 4.0,
                        "p99_ms": 20.0,
                    }
                    for pattern, methods, n in (
                        ("/orders", {"GET": 100}, 100),
                        ("/users/{id}", {"GET": 200, "DELETE": 400}, 600),
                    )
                ],
            }
        )
    )
    table = gaia.cli("migrate", "status").stdout
    assert "taken over by functions: 25.0% of the old API's traffic (250 of 1000" in table
    items_row = next(line for line in table.splitlines() if line.startswith("/items/{id}"))
    for cell in ("shadow", "items:prod", "3.6% of 140", "$.id,$.at", "1.4%", "canary: gated"):
        assert cell in items_row

    refused = gaia.cli("migrate", "set", "/items/{id}", "canary", "--percent", "10")
    assert refused.returncode == 1
    assert (
        "shadow → canary refused: mismatch rate 3.6% (5 of 140) over 140 samples is not under"
        " 1.0% (--force overrides)" in refused.stderr
    )
    # The same promotion in the file: refused with the file, the key and its line.
    refused_file = gaia.cli("apply", "-f", str(_config(tmp_path, "canary\n      percent: 10")))
    assert refused_file.returncode == 1
    assert f"{tmp_path / 'gaia.yaml'}: legacy.routes[0].state: /items/{{id}}: shadow → canary" in (
        refused_file.stderr
    )
    assert refused_file.stderr.rstrip().endswith("(line 11)")  # `state:` of that route
    assert _json(gaia, "migrate", "status")["routes"][0]["state"] == "shadow"

    forced = gaia.cli(
        "migrate", "set", "/items/{id}", "canary", "--percent", "10", "--force", "--by", "ada"
    )
    assert forced.returncode == 0, forced.stderr
    history = _json(gaia, "migrate", "history", "/items/{id}")
    assert [(h["by"], h["channel"], h["forced"]) for h in history] == [
        ("ci", "apply", False),
        ("ada", "migrate set", True),
    ]
    assert history[1]["changes"] == ["state shadow → canary", "percent - → 10%"]
    assert (history[1]["evidence"]["samples"], history[1]["evidence"]["mismatches"]) == (140, 5)
    shown = gaia.cli("migrate", "history", "/items/{id}").stdout
    assert "FORCED past: mismatch rate 3.6% (5 of 140)" in shown

    discovered = _json(gaia, "migrate", "discover")
    assert [(r["pattern"], r["in_ledger"]) for r in discovered] == [
        ("/users/{id}", False),
        ("/orders", True),
    ]
    lines = gaia.cli("migrate", "discover").stdout.splitlines()
    users = next(i for i, line in enumerate(lines) if line.startswith("/users/{id}"))
    orders = next(i for i, line in enumerate(lines) if line.startswith("/orders"))
    assert users < orders
    for cell in ("GET 200, DELETE 400", "600", "60.0%", "1.0%", "4.0ms", "20.0ms"):
        assert cell in lines[users]
    assert lines[orders].rstrip().endswith("yes")
    added = gaia.cli("migrate", "add", "/users/{id}", "--function", "items")
    assert added.returncode == 0, added.stderr
    assert _json(gaia, "migrate", "history", "/users/{id}")[0]["to"]["methods"] == [
        "DELETE",
        "GET",
    ]

    # Restarted, the gateway serves the ledger as it was left.
    assert gaia.stop() == 0
    gaia.start()
    status = _json(gaia, "migrate", "status")
    assert [(r["path"], r["state"], r["percent"]) for r in status["routes"]] == [
        ("/items/{id}", "canary", 10.0),
        ("/orders", "legacy", None),
        ("/users/{id}", "legacy", None),
    ]


def test_a_gateway_whose_router_saw_nothing_gates_on_no_samples(
    gaia_factory: GaiaFactory, tmp_path: Path
) -> None:
    gaia = gaia_factory().start()
    assert gaia.cli("apply", "-f", str(_config(tmp_path))).returncode == 0
    refused = gaia.cli("migrate", "set", "/items/{id}", "canary", "--percent", "5")
    assert refused.returncode == 1
    assert "no shadow samples yet: at least 100 are needed" in refused.stderr
    assert _json(gaia, "migrate", "discover") == []
    back = gaia.cli("migrate", "set", "/items/{id}", "legacy")
    assert back.returncode == 0, back.stderr
    unknown = gaia.cli("migrate", "history", "/nope")
    assert unknown.returncode == 1 and "'/nope' is not in the ledger" in unknown.stderr
