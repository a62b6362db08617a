"""The dashboard's files, its JSON and its stream, over a real control plane and admin
app (the worker pool is the in-memory runtime; tests/integration/test_dashboard.py runs
the whole gateway in a browser)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from gateway import bundles
from gateway.control import ControlPlane
from gateway.invoker import Invoker
from gateway.metrics import Metrics
from gateway.subscriptions import Subscriptions
from gateway.ui.counters import CollectorCounters
from gateway.ui.dashboard import Dashboard
from gateway.ui.schemas import DashboardView, OverviewView
from tests.gateway.admin.kit import admin_app

TOKEN = "t0k"


def new_dashboard(control: ControlPlane, metrics: Metrics) -> Dashboard:
    """A dashboard reading `metrics`, sampling every 60 s (no round during a test)."""
    return Dashboard(
        control=control,
        subscriptions=Subscriptions(
            invoker=Invoker(control=control, metrics=metrics), drain_timeout_s=1, replica="r"
        ),
        counters=CollectorCounters(metrics),
        interval_s=60,
    )


@pytest.fixture
async def dashboard(control: ControlPlane) -> AsyncIterator[Dashboard]:
    board = new_dashboard(control, Metrics())
    board.start()
    yield board
    await board.aclose()


@pytest.fixture
async def admin(control: ControlPlane, dashboard: Dashboard) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=admin_app(control, token=TOKEN, dashboard=dashboard))
    async with httpx.AsyncClient(transport=transport, base_url="http://admin") as client:
        yield client


AUTH = {"authorization": f"Bearer {TOKEN}"}


async def publish(admin: httpx.AsyncClient, tmp_path: Path, version: str) -> None:
    code = tmp_path / "shop"
    code.mkdir(exist_ok=True)
    (code / "main.py").write_text("def handler(event, context):\n    return 'ok'\n")
    body = {
        "code": base64.b64encode(bundles.pack(code)).decode(),
        "config": {"env": {"VERSION": version}},
    }
    response = await admin.post("/v1/functions/shop/revisions", json=body, headers=AUTH)
    assert response.status_code == 201, response.text


async def test_the_page_and_its_files_need_no_token_and_load_nothing_else(
    admin: httpx.AsyncClient,
) -> None:
    redirect = await admin.get("/ui")
    assert (redirect.status_code, redirect.headers["location"]) == (308, "/ui/")
    page = await admin.get("/ui/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert '<script type="module" src="app.js">' in page.text
    for name, kind in [("app.js", "text/javascript"), ("style.css", "text/css")]:
        asset = await admin.get(f"/ui/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
    missing = await admin.get("/ui/secrets.txt")
    assert missing.status_code == 404
    assert "app.js" in missing.json()["message"]  # names the files there are
    assert (await admin.post("/ui/")).status_code == 405
    # The data is not open: the page asks for the token first.
    assert (await admin.get("/v1/dashboard")).status_code == 401
    assert (await admin.get("/uix")).status_code == 401


async def test_the_json_holds_revisions_aliases_with_history_and_what_rollback_restores(
    admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    await publish(admin, tmp_path, "1")
    await publish(admin, tmp_path, "2")
    split = {
        "traffic": [
            {"revision": 1, "percent": 70},
            {"revision": 2, "percent": 30, "tag": "canary"},
        ]
    }
    put = await admin.put("/v1/functions/shop/aliases/prod", json=split, headers=AUTH)
    assert put.status_code == 200, put.text
    response = await admin.get("/v1/dashboard", headers=AUTH)
    view = DashboardView.model_validate(response.json())
    [shop] = view.functions
    assert [r.name for r in shop.revisions] == ["shop@1", "shop@2"]
    prod = next(a for a in shop.aliases if a.alias == "prod")
    assert [(t.revision, t.percent, t.tag) for t in prod.traffic] == [
        (1, 70, None),
        (2, 30, "canary"),
    ]
    assert prod.rollback_to is None  # created by that change: nothing before it
    again = {"traffic": [{"revision": 2, "percent": 100}]}
    await admin.put("/v1/functions/shop/aliases/prod", json=again, headers=AUTH)
    view = DashboardView.model_validate((await admin.get("/v1/dashboard", headers=AUTH)).json())
    prod = next(a for a in view.functions[0].aliases if a.alias == "prod")
    assert len(prod.history) == 2
    assert prod.rollback_to is not None
    assert [(t.revision, t.percent) for t in prod.rollback_to.traffic] == [(1, 70), (2, 30)]
    assert [p.revision for p in view.pools] == ["shop@2"]  # @1 serves nothing: retired
    assert view.migration is None  # no legacy: section
    assert (view.sample_interval_s, view.window_s) == (60, 900)


async def next_event(stream: AsyncIterator[bytes]) -> tuple[str, dict[str, object]]:
    message = (await asyncio.wait_for(anext(stream), 5)).decode()
    name, data = message.split("\n")[:2]
    return name.removeprefix("event: "), json.loads(data.removeprefix("data: "))


async def test_the_stream_sends_a_change_as_it_is_committed_and_ends_on_close(
    admin: httpx.AsyncClient, dashboard: Dashboard, tmp_path: Path
) -> None:
    await publish(admin, tmp_path, "1")
    stream = dashboard.stream()
    name, data = await next_event(stream)
    assert name == "overview"
    OverviewView.model_validate(data)
    assert await next_event(stream) == (
        "series",
        {"sample_interval_s": 60, "window_s": 900, "series": {}},
    )
    assert dashboard.feed.followers == 1
    await publish(admin, tmp_path, "2")
    name, data = await next_event(stream)  # long before the next sample (60 s)
    assert name == "overview"
    assert OverviewView.model_validate(data).functions[0].latest == 2
    dashboard.feed.close()
    with pytest.raises(StopAsyncIteration):
        await asyncio.wait_for(anext(stream), 5)
    assert dashboard.feed.followers == 0


async def test_requests_reach_a_follower_only_with_the_samplers_round(
    control: ControlPlane,
) -> None:
    """What the README's dashboard cost rests on: a request adds to the counters the
    data plane keeps anyway and wakes no follower; the sampler reads them on its clock."""
    metrics = Metrics()
    board = new_dashboard(control, metrics)
    board.start()
    try:
        await asyncio.sleep(0)  # the sampler's first reading: where counting starts from
        follower = board.feed.follow()
        counters = metrics.child("shop", 1, "prod")  # what the invoker adds to per request
        for _ in range(1000):
            counters.observe(200, 0.001)
        assert await follower.next(0.05) == set()  # a mark would have woken it at once
        [(revision, sample)] = board.sampler.sample().items()
        assert revision == ("shop", 1) and sample.requests_per_s > 0
    finally:
        await board.aclose()
