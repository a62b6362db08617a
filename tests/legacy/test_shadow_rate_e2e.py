"""The shadow rate with a real `gaia up` before the real old API (tests/legacy/oldapi.py,
its own process): a route asked faster than `shadow.rate` gets about that many copies a
second and the rest are counted as skipped; a route asked slower gets every request
copied."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function
from tests.legacy.oldapi import OldApi

RATE = 10
HELLO = 'def handler(event, context):\n    return "hello"\n'
ITEMS = 'def handler(event, context):\n    return {"id": event.params["id"]}\n'


def _write(path: Path, old_api: OldApi, rate: object) -> Path:
    path.write_text(
        f"""
functions:
  hello:
    code: ./fn/hello
  items:
    code: ./fn/items
legacy:
  upstream: {old_api.url}
  shadow:
    noise_sample: 0
    rate: {rate}
  routes:
    - {{path: /hello, function: hello, state: shadow}}
    - {{path: "/items/{{id}}", function: items, state: shadow}}
"""
    )
    return path


def _evidence(gaia: Gaia, path: str) -> dict[str, Any]:
    done = gaia.cli("migrate", "status", "-o", "json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    evidence: dict[str, Any] = next(r for r in status["routes"] if r["path"] == path)["evidence"]
    return evidence


def _settled(gaia: Gaia, path: str, requests: int) -> dict[str, Any]:
    """The route's evidence once every request was either compared or skipped."""
    return wait_for(
        lambda: (
            (e := _evidence(gaia, path))["samples"] + e["shadow_skipped"] + e["shadow_dropped"]
            == requests
            and e
        ),
        what=f"the copies of {requests} requests to {path} done",
    )


def test_copies_follow_the_rate_and_the_rest_are_skipped(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    write_function(tmp_path / "fn" / "hello", HELLO)
    write_function(tmp_path / "fn" / "items", ITEMS)
    config = _write(tmp_path / "gaia.yaml", old_api, RATE)
    gaia = gaia_factory().start("-f", str(config))
    with gaia.data() as http:
        # Under the rate (about 6 a second), and more requests than the bucket holds: each
        # one is copied.
        for i in range(2 * RATE + 5):
            assert http.get(f"/items/{i}").status_code == 200
            time.sleep(0.15)
        items = _settled(gaia, "/items/{id}", 2 * RATE + 5)
        assert (items["samples"], items["shadow_skipped"]) == (2 * RATE + 5, 0)

        # Far over the rate, for about two seconds: one second's worth at once, then RATE a
        # second; every request still answered by the old API.
        requests = 0
        started = time.monotonic()
        while time.monotonic() - started < 2:
            response = http.get("/hello")
            assert (response.status_code, response.text) == (200, "hello")
            requests += 1
        elapsed = time.monotonic() - started
    assert requests > 3 * (RATE + RATE * elapsed), "not far enough over the rate to test it"
    hello = _settled(gaia, "/hello", requests)
    # The gateway saw the requests within the client's `elapsed`; a token is never left
    # unused for long at this pace, so at least those of `elapsed` less a request's time.
    assert RATE + RATE * (elapsed - 0.2) - 1 <= hello["samples"] <= RATE + RATE * elapsed + 1
    assert hello["shadow_skipped"] == requests - hello["samples"]
    assert (hello["requests"], hello["shadow_dropped"]) == (requests, 0)

    # The table shows the same counts: dropped, then skipped.
    table = gaia.cli("migrate", "status").stdout
    line = next(line for line in table.splitlines() if line.startswith("/hello "))
    cells = [cell.strip() for cell in line.split("  ") if cell.strip()]  # 2+ spaces apart
    assert cells[:3] == ["/hello", "GET", "shadow"]
    assert cells[6:8] == ["0", str(hello["shadow_skipped"])]

    # A rate that is not above 0 is refused, naming the key and its line, and nothing
    # changes: the route keeps its window and its rate.
    refused = gaia.cli("apply", "-f", str(_write(tmp_path / "bad.yaml", old_api, 0)))
    assert refused.returncode != 0
    assert (
        "bad.yaml: legacy.shadow.rate: expected copies per second, a number above 0, got 0"
        " (line 11)"
    ) in refused.stderr
    assert _evidence(gaia, "/hello") == hello
