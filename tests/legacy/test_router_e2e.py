"""A route migrated end to end: a real `gaia up` in front of the real old API
(tests/legacy/oldapi.py, its own process), the ledger moved by re-applying gaia.yaml
(`gaia apply -f`), and in each state what a client sees."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function
from tests.legacy.oldapi import OldApi

# Answers as the old API's GET /items/{id} does, `uuid` and `at` random as there; `boom`
# raises, so a fallback to the old API can be seen.
ITEMS = """
import time, uuid

def handler(event, context):
    item = event.params["id"]
    if item == "boom":
        raise RuntimeError("boom")
    return {"id": item, "name": f"item {item}", "uuid": str(uuid.uuid4()), "at": time.time()}
"""

# Answers GET /orders wrongly: an order the old API never had.
WRONG = """
def handler(event, context):
    return {"orders": [{"id": 1}]}
"""


def _write(tmp_path: Path, old_api: OldApi, state: str, percent: int | None = None) -> Path:
    route = f'path: "/items/{{id}}", methods: [GET, POST], function: items:prod, state: {state}'
    if percent is not None:
        route += f", percent: {percent}"
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  items:
    code: ./fn/items
    aliases:
      prod: {{traffic: [{{revision: latest, percent: 100}}], sticky: "header:x-user"}}
  wrong:
    code: ./fn/wrong
legacy:
  upstream: {old_api.url}
  shadow: {{noise_sample: 1}}
  gates: {{min_samples: 5}}
  routes:
    - {{{route}}}
    - {{path: /orders, function: wrong, state: shadow}}
"""
    )
    return path


def _apply(gaia: Gaia, path: Path) -> None:
    done = gaia.cli("apply", "-f", str(path))
    assert done.returncode == 0, done.stderr


def _status(gaia: Gaia) -> dict[str, Any]:
    with gaia.admin() as admin:
        response = admin.get("/v1/migrate")
        response.raise_for_status()
        body: dict[str, Any] = response.json()
        return body


def _route(gaia: Gaia, path: str) -> dict[str, Any]:
    route: dict[str, Any] = next(r for r in _status(gaia)["routes"] if r["path"] == path)
    return route


def _old_requests(old_api: OldApi) -> int:
    with httpx.Client(base_url=old_api.url) as direct:
        count: int = direct.get("/stats").json()["requests"]
        return count


def _served_by(response: httpx.Response) -> str:
    """`old` for the old API's answer (its x-old-api header), else the function's revision."""
    if "x-old-api" in response.headers:
        assert "x-gaia-revision" not in response.headers
        return "old"
    return response.headers["x-gaia-revision"]


def test_a_route_goes_from_legacy_to_retired_on_evidence(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    write_function(tmp_path / "fn" / "items", ITEMS)
    write_function(tmp_path / "fn" / "wrong", WRONG)
    gaia = gaia_factory().start("-f", str(_write(tmp_path, old_api, "legacy")))
    with gaia.data() as http:
        # legacy: the old API answers, and the ledger counts it.
        response = http.get("/items/1")
        assert (response.status_code, _served_by(response)) == (200, "old")
        assert response.json()["name"] == "item 1"
        evidence = _route(gaia, "/items/{id}")["evidence"]
        assert (evidence["requests"], evidence["legacy"]["requests"]) == (1, 1)

        # shadow: still the old API's answers; the function's copies compare equal once
        # the old API's random fields are learned as noise.
        _apply(gaia, _write(tmp_path, old_api, "shadow"))
        for i in range(8):
            response = http.get(f"/items/{i}")
            assert (response.status_code, _served_by(response)) == (200, "old")
        evidence = wait_for(
            lambda: (e := _route(gaia, "/items/{id}")["evidence"])["samples"] == 8 and e,
            what="8 shadow comparisons",
        )
        assert evidence["noise_paths"] == ["$.at", "$.uuid"]
        assert (evidence["mismatches"], evidence["mismatch_rate"]) == (0, 0.0)
        assert (evidence["served_by_function"], evidence["function"]["requests"]) == (0, 8)
        # A POST is not shadowed: the old API answers it, the function never sees it, and
        # it counts as skipped.
        assert _served_by(http.post("/items/1", content=b"{}")) == "old"
        evidence = _route(gaia, "/items/{id}")["evidence"]
        assert (evidence["function"]["requests"], evidence["shadow_skipped"]) == (8, 1)

        # canary at 50%: both sides answer, and the gate let it in on the evidence above.
        _apply(gaia, _write(tmp_path, old_api, "canary", 50))
        sides = [_served_by(http.get(f"/items/{i}")) for i in range(60)]
        assert 0 < sides.count("old") < 60 and sides.count("items@1") == 60 - sides.count("old")
        # The alias's sticky key keeps each user on one side.
        for user in range(10):
            headers = {"x-user": f"user-{user}"}
            theirs = [_served_by(http.get(f"/items/{i}", headers=headers)) for i in range(4)]
            assert len(set(theirs)) == 1, f"user-{user} was served by {theirs}"
            sides += theirs
        evidence = _route(gaia, "/items/{id}")["evidence"]
        assert evidence["requests"] == len(sides) == 100
        assert evidence["served_by_function"] == sides.count("items@1")
        assert evidence["function"]["errors"] == evidence["legacy"]["errors"] == 0

        # function: the function answers; a failure on a GET falls back to the old API
        # within the retry budget (earned by 10 requests per fallback).
        _apply(gaia, _write(tmp_path, old_api, "function"))
        for i in range(10):
            assert _served_by(http.get(f"/items/{i}")) == "items@1"
        response = http.get("/items/boom")
        assert (response.status_code, _served_by(response)) == (200, "old")
        assert response.json()["name"] == "item boom"
        # The budget is spent: the next failure is the function's own error.
        response = http.get("/items/boom")
        assert (response.status_code, response.json()["error"]) == (500, "function_error")

        # retired: the old API is never asked again for this route, failure or not.
        _apply(gaia, _write(tmp_path, old_api, "retired"))
        before = _old_requests(old_api)
        for i in range(20):
            assert _served_by(http.get(f"/items/{i}")) == "items@1"
        assert http.get("/items/boom").status_code == 500
        assert _old_requests(old_api) == before + 1  # the /stats request itself
        # The headline: every request above reached the legacy layer (no HTTP trigger
        # takes any): 1 + 8 + 1 in legacy and shadow, 100 in canary, 12 in function and
        # 21 retired; functions answered the canary's share, 11 in function (the fallback
        # is the old API's) and all 21 retired.
        status = _status(gaia)
        by_functions = sides.count("items@1") + 11 + 21
        assert (status["requests"], status["served_by_functions"]) == (143, by_functions)
        assert status["taken_over"] == by_functions / 143


def test_a_function_that_answers_wrongly_is_refused_by_the_gate(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    write_function(tmp_path / "fn" / "items", ITEMS)
    write_function(tmp_path / "fn" / "wrong", WRONG)
    path = _write(tmp_path, old_api, "legacy")
    gaia = gaia_factory().start("-f", str(path))
    with gaia.data() as http:
        for _ in range(6):
            assert _served_by(http.get("/orders")) == "old"
    evidence = wait_for(
        lambda: (e := _route(gaia, "/orders")["evidence"])["samples"] == 6 and e,
        what="6 shadow comparisons of /orders",
    )
    assert (evidence["mismatches"], evidence["mismatch_rate"]) == (6, 1.0)
    example = evidence["example"]
    assert example["request"] == "GET /orders"
    assert example["differences"] == ['$.orders[0]: <absent> != {"id": 1}']
    path.write_text(
        path.read_text().replace(
            "function: wrong, state: shadow", "function: wrong, state: canary, percent: 10"
        )
    )
    refused = gaia.cli("apply", "-f", str(path))
    assert refused.returncode != 0
    assert (
        "shadow → canary refused: mismatch rate 100.0% (6 of 6) over 6 samples is not under 1.0%"
        in refused.stderr
    ), refused.stderr
    assert _route(gaia, "/orders")["state"] == "shadow"


def test_a_shadowed_body_over_the_capture_limit_reaches_the_old_api_whole(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    write_function(tmp_path / "fn" / "items", ITEMS)
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  items:
    code: ./fn/items
legacy:
  upstream: {old_api.url}
  shadow: {{capture: 64Ki}}
  routes:
    - {{path: /upload, methods: [POST], function: items, state: shadow, shadow_unsafe: true}}
"""
    )
    gaia = gaia_factory().start("-f", str(path))
    small, large = b"s" * 1000, bytes(range(256)) * 8192  # 1000 bytes, 2 MiB

    def chunks() -> Iterator[bytes]:
        for at in range(0, len(large), 100_000):
            yield large[at : at + 100_000]

    with gaia.data() as http:
        for body, chunked in ((small, False), (large, False), (large, True)):
            response = http.post("/upload", content=chunks() if chunked else body)
            assert response.status_code == 200
            assert response.json() == {
                "bytes": len(body),
                "sha256": hashlib.sha256(body).hexdigest(),
                "chunked": chunked,
            }
    # The small one was copied to the function; the two large ones were not.
    evidence = wait_for(
        lambda: (e := _route(gaia, "/upload")["evidence"])["samples"] == 1 and e,
        what="the small upload's comparison",
    )
    assert (evidence["requests"], evidence["function"]["requests"]) == (3, 1)
    assert evidence["shadow_skipped"] == 2


# Holds its shadow copy until the old API has an order: the test decides when it ends.
HELD = """
import json, time, urllib.request

def handler(event, context):
    deadline = time.time() + 30
    while time.time() < deadline:
        with urllib.request.urlopen("{old}/orders") as answer:
            if json.load(answer)["orders"]:
                break
        time.sleep(0.05)
    return {{"id": event.params["id"]}}
"""


def test_copies_beyond_the_shadow_queue_are_dropped_and_counted(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    write_function(tmp_path / "fn" / "held", HELD.format(old=old_api.url))
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  held:
    code: ./fn/held
legacy:
  upstream: {old_api.url}
  shadow: {{queue: 1, concurrency: 1, noise_sample: 0}}
  routes:
    - {{path: "/items/{{id}}", function: held, state: shadow}}
"""
    )
    gaia = gaia_factory().start("-f", str(path))
    with gaia.data() as http:
        for item in range(5):
            assert _served_by(http.get(f"/items/{item}")) == "old"
    # The first copy runs (held), the second waits in the queue of 1, the rest are dropped.
    evidence = wait_for(
        lambda: (e := _route(gaia, "/items/{id}")["evidence"])["shadow_dropped"] == 3 and e,
        what="3 copies dropped",
    )
    assert (evidence["requests"], evidence["samples"], evidence["shadow_skipped"]) == (5, 0, 0)
    httpx.post(f"{old_api.url}/orders", json={"release": True})
    evidence = wait_for(
        lambda: (e := _route(gaia, "/items/{id}")["evidence"])["samples"] == 2 and e,
        what="the 2 copies not dropped compared",
    )
    assert evidence["shadow_dropped"] == 3
