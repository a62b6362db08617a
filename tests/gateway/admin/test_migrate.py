"""The ledger's admin endpoints over a real control plane, with the router's figures from
an in-memory Observations; every answer held to its /openapi.json model."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway import bundles
from gateway.admin.migrate_schemas import (
    DiscoveredView,
    LedgerChangeView,
    LedgerRouteView,
    MigrateStatusView,
)
from gateway.admin.schemas import ApplyView
from gateway.control import ControlPlane
from gateway.store import MemoryStore
from legacy.ports import DiscoveredRoute
from runtime_adapters.memory import MemoryRuntime
from tests.gateway.admin.kit import admin_app
from tests.legacy.evidence import StaticObservations, evidence

DOCUMENT = {
    "functions": {"items": {"runtime": "python", "handler": "main.handler"}},
    "legacy": {
        "upstream": "http://127.0.0.1:9000",
        "routes": [
            {"path": "/items/{id}", "function": "items", "state": "shadow"},
            {"path": "/orders", "methods": ["GET", "POST"]},
        ],
    },
}


@pytest.fixture
def observed() -> StaticObservations:
    return StaticObservations()


@pytest.fixture
async def admin(
    tmp_path: Path, runtime: MemoryRuntime, store: MemoryStore, observed: StaticObservations
) -> AsyncIterator[httpx.AsyncClient]:
    control = ControlPlane(
        store=store, bundles_root=tmp_path / "bundles", runtimes={"python": runtime}
    )
    control.use_observations(observed)
    await control.start()
    transport = httpx.ASGITransport(app=admin_app(control, token="t0k"))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://admin", headers={"authorization": "Bearer t0k"}
    ) as client:
        yield client


async def _apply(admin: httpx.AsyncClient, tmp_path: Path) -> dict[str, object]:
    code = tmp_path / "items"
    code.mkdir(exist_ok=True)
    (code / "main.py").write_text('def handler(event, context):\n    return "v1"\n')
    packed = base64.b64encode(bundles.pack(code)).decode()
    response = await admin.post(
        "/v1/apply", json={"document": DOCUMENT, "bundles": {"items": packed}, "by": "ci"}
    )
    assert response.status_code == 200, response.text
    return ApplyView.model_validate(response.json()).model_dump()


async def test_status_shows_each_route_its_evidence_the_next_gate_and_the_headline(
    admin: httpx.AsyncClient, tmp_path: Path, observed: StaticObservations
) -> None:
    plan = await _apply(admin, tmp_path)
    assert plan["legacy"] == {"added": ["/items/{id}", "/orders"], "changed": [], "removed": []}
    observed.by_path["/items/{id}"] = evidence(
        samples=140, mismatches=5, legacy=(140, 1), noise_paths=("$.id", "$.at")
    )
    observed.total = (1000, 250)
    response = await admin.get("/v1/migrate")
    status = MigrateStatusView.model_validate(response.json())
    assert (status.requests, status.served_by_functions, status.taken_over) == (1000, 250, 0.25)
    items, orders = status.routes
    assert (items.path, items.state, items.function, items.methods) == (
        "/items/{id}",
        "shadow",
        "items",
        ["GET"],
    )
    assert items.evidence is not None
    assert items.evidence.function_share == 0.0
    assert (items.evidence.samples, items.evidence.mismatches) == (140, 5)
    assert items.evidence.mismatch_rate == pytest.approx(5 / 140)
    assert items.evidence.noise_paths == ["$.id", "$.at"]
    assert (items.evidence.legacy.error_rate, items.evidence.legacy.p50_ms) == (1 / 140, 12.0)
    assert items.next is not None
    assert (items.next.state, items.next.allowed) == ("canary", False)
    assert items.next.reasons == [
        "mismatch rate 3.6% (5 of 140) over 140 samples is not under 1.0%"
    ]
    assert orders.evidence is None
    assert orders.next is not None and (orders.next.state, orders.next.allowed) == ("shadow", True)


async def test_set_refuses_with_the_numbers_forces_and_history_records_it(
    admin: httpx.AsyncClient, tmp_path: Path, observed: StaticObservations
) -> None:
    await _apply(admin, tmp_path)
    observed.by_path["/items/{id}"] = evidence(samples=140, mismatches=5)
    move = {"path": "/items/{id}", "state": "canary", "percent": 10, "by": "ada@laptop"}
    refused = await admin.post("/v1/migrate/routes/state", json=move)
    assert refused.status_code == 409
    assert refused.json()["error"] == "promotion_refused"
    assert refused.json()["field"] == "state"
    assert (
        "mismatch rate 3.6% (5 of 140) over 140 samples is not under 1.0%"
        in (refused.json()["message"])
    )
    forced = await admin.post("/v1/migrate/routes/state", json={**move, "force": True})
    assert forced.status_code == 200
    route = LedgerRouteView.model_validate(forced.json())
    assert (route.state, route.percent) == ("canary", 10)
    history = await admin.get("/v1/migrate/routes/history", params={"path": "/items/{id}"})
    added, changed = (LedgerChangeView.model_validate(c) for c in history.json())
    assert (added.action, added.by, added.channel) == ("added", "ci", "apply")
    assert added.changes == ["added as shadow"]
    assert (changed.by, changed.channel, changed.forced) == ("ada@laptop", "migrate set", True)
    assert changed.changes == ["state shadow → canary", "percent - → 10%"]
    assert changed.evidence is not None
    assert (changed.evidence.samples, changed.evidence.mismatches) == (140, 5)
    assert changed.gate == "mismatch rate 3.6% (5 of 140) over 140 samples is not under 1.0%"


async def test_discovered_routes_by_share_and_add_one(
    admin: httpx.AsyncClient, tmp_path: Path, observed: StaticObservations
) -> None:
    await _apply(admin, tmp_path)
    observed.routes = [
        DiscoveredRoute(
            pattern=pattern,
            methods={"GET": n},
            requests=n,
            share=n / 100,
            error_rate=0.0,
            p50_ms=2.0,
            p99_ms=8.0,
        )
        for pattern, n in (("/orders", 20), ("/users/{id}", 70), ("/health", 10))
    ]
    listed = [
        DiscoveredView.model_validate(r) for r in (await admin.get("/v1/migrate/discovered")).json()
    ]
    assert [(r.pattern, r.share, r.in_ledger) for r in listed] == [
        ("/users/{id}", 0.7, False),
        ("/orders", 0.2, True),
        ("/health", 0.1, False),
    ]
    added = await admin.post(
        "/v1/migrate/routes", json={"path": "/users/{id}", "function": "items"}
    )
    assert added.status_code == 201
    assert LedgerRouteView.model_validate(added.json()).state == "legacy"
    history = await admin.get("/v1/migrate/routes/history", params={"path": "/users/{id}"})
    # Nobody said who: only the token's holder is known.
    assert [(c["by"], c["channel"]) for c in history.json()] == [("admin token", "migrate add")]


@pytest.mark.parametrize(
    ("method", "url", "body", "status", "field"),
    [
        ("POST", "/v1/migrate/routes", {"path": "/x/{id", "function": "items"}, 422, "path"),
        ("POST", "/v1/migrate/routes", {"path": "/x", "function": "items", "x": 1}, 422, "x"),
        ("POST", "/v1/migrate/routes", {"path": "/orders", "function": "items"}, 409, "path"),
        ("POST", "/v1/migrate/routes/state", {"path": "/nope", "state": "shadow"}, 404, "path"),
        ("POST", "/v1/migrate/routes/state", {"path": "/orders", "state": "up"}, 422, "state"),
        ("POST", "/v1/migrate/routes/state", {"path": "/orders", "state": "shadow"}, 422, "state"),
        ("POST", "/v1/migrate/routes/state", {"path": "/orders", "force": "yes"}, 422, "state"),
        ("GET", "/v1/migrate/routes/history", None, 422, "path"),
        ("GET", "/v1/migrate/routes/history?path=/nope", None, 404, "path"),
    ],
)
async def test_bad_requests_name_the_field_and_change_nothing(
    admin: httpx.AsyncClient,
    tmp_path: Path,
    method: str,
    url: str,
    body: dict[str, object] | None,
    status: int,
    field: str,
) -> None:
    await _apply(admin, tmp_path)
    before = (await admin.get("/v1/migrate")).json()
    response = await admin.request(method, url, json=body)
    assert (response.status_code, response.json().get("field")) == (status, field), response.text
    assert (await admin.get("/v1/migrate")).json() == before
