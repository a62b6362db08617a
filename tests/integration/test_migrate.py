"""`gaia migrate` against real gateways in front of the real old API
(tests/legacy/oldapi.py, its own process): the ledger applied from gaia.yaml, fed by real
traffic, shown, moved through its states by the CLI, gated on that evidence, recorded,
and kept across a restart; and the changes it refuses."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.functions import VERSIONED
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function
from tests.legacy.oldapi import OldApi

# Answers as the old API's GET /items/{id} does (`uuid` and `at` random there too), but
# wrongly for ids ending in 9; `boom` raises.
ITEMS = """
import time, uuid

def handler(event, context):
    item = event.params["id"]
    if item == "boom":
        raise RuntimeError("boom")
    name = "wrong" if item.endswith("9") else f"item {item}"
    return {"id": item, "name": name, "uuid": str(uuid.uuid4()), "at": time.time()}
"""

FUNCTIONS = """\
functions:
  items:
    code: ./items
    aliases:
      prod: {{traffic: [{{revision: latest, percent: 100}}]}}
"""

LIVE = (
    FUNCTIONS
    + """\
legacy:
  upstream: {upstream}
  shadow: {{noise_sample: 1, capture: 1Ki, rate: 1000}}
  gates: {{min_samples: 10}}
  routes:
    - {{path: "/items/{{id}}", methods: [GET, POST], function: items:prod, state: shadow}}
    - {{path: /orders, methods: [GET, POST]}}
"""
)

CONFIG = (
    FUNCTIONS
    + """\
legacy:
  upstream: http://127.0.0.1:9
  routes:
    - path: "/items/{{id}}"
      function: items:prod
      state: {state}
    - {{path: /orders, methods: [GET, POST]}}
"""
)


def _config(tmp_path: Path, state: str = "shadow") -> Path:
    write_function(tmp_path / "items", VERSIONED.replace("{version}", "v1"))
    path = tmp_path / "gaia.yaml"
    path.write_text(CONFIG.format(state=state))
    return path


@pytest.fixture
def old_api(tmp_path: Path) -> Iterator[OldApi]:
    server = OldApi(tmp_path).start()
    yield server
    server.stop()


def _json(gaia: Gaia, *args: str) -> Any:
    result = gaia.cli(*args, "-o", "json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _cells(line: str) -> list[str]:
    """A table line's non-empty cells (columns are two spaces or more apart)."""
    return [cell.strip() for cell in line.split("  ") if cell.strip()]


def _row(table: str, path: str) -> list[str]:
    return _cells(next(line for line in table.splitlines() if line.startswith(path + " ")))


def _percent(part: int, whole: int) -> str:
    return f"{part / whole * 100:.1f}%"


def _route(status: dict[str, Any], path: str) -> dict[str, Any]:
    route: dict[str, Any] = next(r for r in status["routes"] if r["path"] == path)
    return route


def test_the_ledger_through_the_cli_on_real_traffic_gated_forced_recorded_and_kept(
    gaia_factory: GaiaFactory, old_api: OldApi, tmp_path: Path
) -> None:
    gaia = gaia_factory().start()
    write_function(tmp_path / "items", ITEMS)
    config = tmp_path / "gaia.yaml"
    config.write_text(LIVE.format(upstream=old_api.url))
    applied = gaia.cli("apply", "-f", str(config), "--by", "ci")
    assert applied.returncode == 0, applied.stderr
    assert "legacy routes: 2 added, 0 changed, 0 removed" in applied.stdout

    # Before any traffic: counts are 0, and rates and p50s null (shown as -).
    status = _json(gaia, "migrate", "status")
    assert (status["requests"], status["served_by_functions"], status["taken_over"]) == (0, 0, None)
    fresh = _route(status, "/items/{id}")["evidence"]
    assert (fresh["requests"], fresh["samples"], fresh["shadow_skipped"]) == (0, 0, 0)
    assert (fresh["mismatch_rate"], fresh["function_share"]) == (None, None)
    assert (fresh["legacy"]["error_rate"], fresh["legacy"]["p50_ms"]) == (None, None)
    table = gaia.cli("migrate", "status").stdout
    assert "taken over by functions: - of the old API's traffic (0 of 0 requests)" in table
    assert _row(table, "/items/{id}") == [
        "/items/{id}", "GET,POST", "shadow", "items:prod", "-", "- of 0", "0", "0",
        "-", "-", "-", "-", "canary: gated",
    ]  # fmt: skip

    old_latencies: list[float] = []
    started = time.perf_counter()
    with gaia.data() as http:

        def get(path: str, **kwargs: Any) -> httpx.Response:
            began = time.perf_counter()
            response = http.get(path, **kwargs)
            old_latencies.append(time.perf_counter() - began)
            assert response.headers["x-old-api"] == "old", path
            return response

        # /items/{id} in shadow: 21 copies compared (9 and 19 answered wrongly, boom not
        # at all), a POST (unsafe) and a GET with a body over the capture not copied.
        for item in [*range(1, 21), "boom"]:
            assert get(f"/items/{item}").status_code == 200
        assert http.post("/items/1", content=b"{}").headers["x-old-api"] == "old"
        big = http.request("GET", "/items/big", content=b"x" * 2048)
        assert big.status_code == 200
        # /orders in legacy: 7 requests, 2 of them failing at the old API.
        for _ in range(3):
            assert get("/orders").status_code == 200
        for order in range(2):
            assert http.post("/orders", json={"n": order}).status_code == 201
        httpx.post(f"{old_api.url}/admin/failing?status=503")
        for _ in range(2):
            assert http.get("/orders").status_code == 503
        httpx.delete(f"{old_api.url}/admin/failing")
        # Not in the ledger: the old API answers, and discovery learns the pattern.
        for user in (1, 2, 3):
            assert http.get(f"/users/{user}").status_code == 404
        assert http.delete("/users/4").status_code == 404
    seen: list[dict[str, Any]] = []

    def compared() -> int | None:
        seen.append(_route(_json(gaia, "migrate", "status"), "/items/{id}")["evidence"])
        samples: int = seen[-1]["samples"]
        return samples if samples >= 21 else None

    try:
        # Past 21 is a copy counted twice: waited for too, so that it fails as itself.
        assert wait_for(compared, what="21 shadow comparisons") == 21, seen[-1]
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the route's evidence last: {seen[-1:]}") from None
    elapsed = time.perf_counter() - started

    status = _json(gaia, "migrate", "status")
    assert (status["requests"], status["served_by_functions"]) == (23 + 7 + 4, 0)
    assert status["taken_over"] == 0.0
    items = _route(status, "/items/{id}")["evidence"]
    assert (items["requests"], items["served_by_function"], items["function_share"]) == (23, 0, 0)
    assert (items["samples"], items["mismatches"], items["mismatch_rate"]) == (21, 3, 3 / 21)
    assert (items["shadow_dropped"], items["shadow_skipped"]) == (0, 2)
    assert items["noise_paths"] == ["$.at", "$.uuid"]
    assert items["legacy"]["requests"] == 23 and items["legacy"]["errors"] == 0
    assert (items["function"]["requests"], items["function"]["errors"]) == (21, 1)
    assert items["function"]["error_rate"] == 1 / 21
    # p50s are the gateway's own timings: the old API's within what the client waited.
    assert 0 < items["legacy"]["p50_ms"] <= max(old_latencies) * 1000 * 1.01
    assert 0 < items["function"]["p50_ms"] <= elapsed * 1000 * 1.01
    assert _route(status, "/items/{id}")["next"] == {
        "state": "canary",
        "allowed": False,
        "reasons": ["mismatch rate 14.3% (3 of 21) over 21 samples is not under 1.0%"],
    }
    assert items["example"]["request"] in ("GET /items/9", "GET /items/19", "GET /items/boom")
    orders = _route(status, "/orders")["evidence"]
    assert (orders["requests"], orders["legacy"]["errors"]) == (7, 2)
    assert orders["legacy"]["error_rate"] == 2 / 7
    assert orders["function"]["requests"] == 0 and orders["function"]["p50_ms"] is None

    table = gaia.cli("migrate", "status").stdout
    assert "taken over by functions: 0.0% of the old API's traffic (0 of 34 requests)" in table
    assert _row(table, "/items/{id}") == [
        "/items/{id}", "GET,POST", "shadow", "items:prod", "0.0%",
        f"{_percent(3, 21)} of 21", "0", "2", "$.at,$.uuid", "0.0%", _percent(1, 21),
        f"{items['legacy']['p50_ms']:.1f}ms", f"{items['function']['p50_ms']:.1f}ms",
        "canary: gated",
    ]  # fmt: skip
    assert _row(table, "/orders") == [
        "/orders", "GET,POST", "legacy", "-", "0.0%", "- of 0", "0", "0", _percent(2, 7), "-",
        f"{orders['legacy']['p50_ms']:.1f}ms", "-", "shadow: ready",
    ]  # fmt: skip

    refused = gaia.cli("migrate", "set", "/items/{id}", "canary", "--percent", "50")
    assert refused.returncode == 1
    assert (
        "shadow → canary refused: mismatch rate 14.3% (3 of 21) over 21 samples is not under"
        " 1.0% (--force overrides)" in refused.stderr
    )
    # The same promotion in the file: refused with the file, the key and its line.
    config.write_text(
        LIVE.format(upstream=old_api.url).replace("state: shadow", "state: canary, percent: 50")
    )
    refused_file = gaia.cli("apply", "-f", str(config))
    assert refused_file.returncode == 1
    assert f"{config}: legacy.routes[0].state: /items/{{id}}: shadow → canary" in (
        refused_file.stderr
    )
    assert refused_file.stderr.rstrip().endswith("(line 11)")  # that route's line
    assert _json(gaia, "migrate", "status")["routes"][0]["state"] == "shadow"

    forced = gaia.cli(
        "migrate", "set", "/items/{id}", "canary", "--percent", "50", "--force", "--by", "ada"
    )
    assert forced.returncode == 0, forced.stderr
    history = _json(gaia, "migrate", "history", "/items/{id}")
    assert [(h["by"], h["channel"], h["forced"]) for h in history] == [
        ("ci", "apply", False),
        ("ada", "migrate set", True),
    ]
    assert [h["action"] for h in history] == ["added", "changed"]
    assert history[1]["changes"] == ["state shadow → canary", "percent - → 50%"]
    route = {"path": "/items/{id}", "methods": ["GET", "POST"], "function": "items:prod"}
    assert history[1]["from"] == {**route, "state": "shadow", "percent": None}
    assert history[1]["to"] == {**route, "state": "canary", "percent": 50.0}
    assert history[0]["at"] <= history[1]["at"] <= time.time()
    assert history[1]["gate"] == ("mismatch rate 14.3% (3 of 21) over 21 samples is not under 1.0%")
    at_change = history[1]["evidence"]
    assert (at_change["samples"], at_change["mismatches"]) == (21, 3)
    assert (at_change["legacy_requests"], at_change["legacy_errors"]) == (23, 0)
    assert (at_change["function_requests"], at_change["function_errors"]) == (21, 1)
    assert at_change["legacy_p50_ms"] == items["legacy"]["p50_ms"]
    shown = _cells(gaia.cli("migrate", "history", "/items/{id}").stdout.splitlines()[-1])
    assert shown[1:] == [
        "ada", "migrate set", "state shadow → canary; percent - → 50%",
        f"{_percent(3, 21)} of 21", "0.0%", _percent(1, 21),
        "FORCED past: mismatch rate 14.3% (3 of 21) over 21 samples is not under 1.0%",
    ]  # fmt: skip

    # canary at 50%: the function answers about half; the figures follow what was served.
    with gaia.data() as http:
        sides = [
            "old" if "x-old-api" in http.get(f"/items/{i}").headers else "fn"
            for i in range(100, 140)
        ]
    by_function = sides.count("fn")
    assert 0 < by_function < 40
    status = _json(gaia, "migrate", "status")
    items = _route(status, "/items/{id}")["evidence"]
    assert (items["requests"], items["served_by_function"]) == (40, by_function)
    assert (items["legacy"]["requests"], items["function"]["requests"]) == (
        40 - by_function,
        by_function,
    )
    assert (status["requests"], status["served_by_functions"]) == (74, by_function)
    table = gaia.cli("migrate", "status").stdout
    assert (
        f"taken over by functions: {_percent(by_function, 74)} of the old API's traffic"
        f" ({by_function} of 74 requests)" in table
    )
    row = _row(table, "/items/{id}")
    assert row[2:6] == ["canary", "50%", "items:prod", _percent(by_function, 40)]
    assert row[-1] == "function: ready"
    promoted = gaia.cli("migrate", "set", "/items/{id}", "function", "--by", "ada")
    assert promoted.returncode == 0, promoted.stderr
    assert _json(gaia, "migrate", "history", "/items/{id}")[-1]["gate"] == (
        f"function error rate 0.0% (0 of {by_function}) is no worse than the old API's"
        f" 0.0% (0 of {40 - by_function})"
    )

    discovered = _json(gaia, "migrate", "discover")
    assert discovered == [
        {
            "pattern": "/users/{id}",
            "methods": {"DELETE": 1, "GET": 3},
            "requests": 4,
            "share": 1.0,
            "error_rate": 0.0,
            "p50_ms": discovered[0]["p50_ms"],
            "p99_ms": discovered[0]["p99_ms"],
            "in_ledger": False,
        }
    ]
    assert 0 < discovered[0]["p50_ms"] <= discovered[0]["p99_ms"]
    assert _row(gaia.cli("migrate", "discover").stdout, "/users/{id}") == [
        "/users/{id}", "DELETE 1, GET 3", "4", "100.0%", "0.0%",
        f"{discovered[0]['p50_ms']:.1f}ms", f"{discovered[0]['p99_ms']:.1f}ms",
    ]  # fmt: skip
    added = gaia.cli("migrate", "add", "/users/{id}", "--function", "items")
    assert added.returncode == 0, added.stderr
    # Without --methods: those discovery saw, most used first.
    assert _json(gaia, "migrate", "history", "/users/{id}")[0]["to"]["methods"] == ["GET", "DELETE"]
    assert _row(gaia.cli("migrate", "discover").stdout, "/users/{id}")[-1] == "yes"

    # Restarted, the gateway serves the ledger as it was left.
    assert gaia.stop() == 0
    gaia.start()
    status = _json(gaia, "migrate", "status")
    assert [(r["path"], r["state"], r["percent"]) for r in status["routes"]] == [
        ("/items/{id}", "function", None),
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


def test_unreachable_ledger_routes_and_deleting_what_a_route_uses_are_refused(
    gaia_factory: GaiaFactory, tmp_path: Path
) -> None:
    gaia = gaia_factory().start()
    config = _config(tmp_path)
    assert gaia.cli("apply", "-f", str(config)).returncode == 0
    ledger = [(r["path"], r["state"]) for r in _json(gaia, "migrate", "status")["routes"]]

    # Two routes taking the same requests: refused on the second, naming both.
    config.write_text(CONFIG.format(state="shadow") + '    - {path: "/items/{key}"}\n')
    overlap = gaia.cli("apply", "-f", str(config))
    assert overlap.returncode == 1
    assert (
        f"{config}: legacy.routes[2].path: two ledger routes would take the same requests:"
        " /items/{key} (GET) and /items/{id} (GET)" in overlap.stderr
    )
    assert overlap.stderr.rstrip().endswith("(line 13)")
    added = gaia.cli("migrate", "add", "/items/{key}", "--function", "items")
    assert added.returncode == 1
    assert (
        "two ledger routes would take the same requests: /items/{key} (GET) and /items/{id}"
        " (GET)" in added.stderr
    )
    # A route an HTTP trigger takes first: refused, the trigger named.
    config.write_text(
        CONFIG.format(state="shadow").replace(
            "    code: ./items\n", "    code: ./items\n    triggers: [{http: {path: /orders}}]\n"
        )
    )
    shadowed = gaia.cli("apply", "-f", str(config))
    assert shadowed.returncode == 1
    assert (
        "legacy.routes[1].path: ledger route /orders (GET,POST) could never be reached:"
        " HTTP trigger items/http/0 (any method /orders) of function items" in shadowed.stderr
    )
    # So is a deploy that would add such a trigger.
    deployed = gaia.cli(
        "deploy",
        "items",
        "--code",
        str(tmp_path / "items"),
        "--route",
        "/orders",
        "--method",
        "POST",
    )
    assert deployed.returncode == 1
    assert (
        "ledger route /orders (GET,POST) could never be reached: HTTP trigger items/http/0"
        " (POST /orders) of function items" in deployed.stderr
    )
    # Nothing of the refused changes was applied: no trigger, the ledger as it was.
    with gaia.data() as http:
        assert http.get("/orders").json()["error"] == "upstream_unreachable"
    assert [(r["path"], r["state"]) for r in _json(gaia, "migrate", "status")["routes"]] == ledger

    # A function or alias a ledger route sends to cannot be deleted from under it.
    deleted = gaia.cli("delete", "items")
    assert deleted.returncode == 1
    assert "items is the target of ledger route /items/{id} (shadow)" in deleted.stderr
    with gaia.admin() as admin:
        assert admin.delete("/v1/functions/items").status_code == 409
    alias_deleted = gaia.cli("alias", "delete", "items:prod")
    assert alias_deleted.returncode == 1
    assert "items:prod is the target of ledger route /items/{id} (shadow)" in alias_deleted.stderr
    # Once no route sends to it, it goes.
    config.write_text(CONFIG.format(state="legacy").replace("function: items:prod", ""))
    assert gaia.cli("apply", "-f", str(config)).returncode == 0
    assert gaia.cli("alias", "delete", "items:prod").returncode == 0
