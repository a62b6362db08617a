"""The dashboard at /ui in a real headless browser (Debian's chromium, Playwright),
against real gaia processes, workers and brokers: what a person opening it would see."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.brokers.nats import NatsServer
from tests.brokers.tansu import Tansu
from tests.integration.browser import browser_page, keep_screenshot
from tests.integration.harness import (
    Gaia,
    GaiaFactory,
    admin_json,
    wait_for,
    write_function,
)
from tests.triggers.kafka.kit import new_topic, produce, topic_name
from tests.triggers.nats.kit import connected, unique

SHOP = """
VERSION = "{version}"

def handler(event, context):
    if event.query.get("fail"):
        raise RuntimeError("asked to fail")
    return {{"version": VERSION}}
"""

# Holds its event for minutes, so what comes after it waits: lag and pending build up.
WORKER = """
import time

def handler(event, context):
    if event.data == "poison":
        raise ValueError("poison pill")
    if event.data == "slow":
        time.sleep(300)
    return "done"
"""

TICK = """
def handler(event, context):
    return "tick"
"""

SHOP_CONFIG = """
  shop:
    code: ./fn/shop
    aliases:
      prod:
        traffic: [{revision: 1, percent: 100}]
    triggers:
      - http: {path: /shop, alias: prod}
"""


def _write_shop(tmp_path: Path, version: int) -> Path:
    return write_function(
        tmp_path / "fn" / ("shop" if version == 1 else f"shop{version}"),
        SHOP.format(version=version),
    )


def _split(alias: dict[str, Any]) -> list[tuple[object, float]]:
    return [(t["revision"], t["percent"]) for t in alias["traffic"]]


def _log_in(page: Page, gaia: Gaia, token: str) -> None:
    page.fill("#token", token)
    page.click("#login-form button[type=submit]")


def _segments(page: Page, alias: str) -> list[dict[str, Any]]:
    """Each segment of an alias's bar: its revision, tag, label and share of the bar."""
    result: list[dict[str, Any]] = page.evaluate(
        """alias => {
            const bar = document.querySelector(`[data-alias="${alias}"] .split`);
            const width = bar.getBoundingClientRect().width;
            return [...bar.querySelectorAll(".segment")].map(s => ({
                revision: s.dataset.revision,
                tag: s.dataset.tag,
                label: s.textContent,
                share: s.getBoundingClientRect().width / width,
            }));
        }""",
        alias,
    )
    return result


def test_the_dashboard_asks_for_the_token_shows_the_split_follows_changes_and_rolls_back(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    _write_shop(tmp_path, 1)
    (tmp_path / "gaia.yaml").write_text("functions:" + SHOP_CONFIG)
    gaia = gaia_factory().start("-f", str(tmp_path / "gaia.yaml"))
    deployed = gaia.cli("deploy", "shop", "--code", str(_write_shop(tmp_path, 2)))
    assert deployed.returncode == 0, deployed.stderr
    split = gaia.cli("alias", "set", "shop:prod", "1=70", "2=30", "--tag", "2=canary")
    assert split.returncode == 0, split.stderr

    with browser_page() as page:
        page.goto(f"{gaia.admin_url}/ui")
        _log_in(page, gaia, "not-the-token")
        expect(page.locator("#login-error")).to_contain_text(
            "the gateway refused this token (401 unauthorized)"
        )
        expect(page.locator("#login-error")).to_contain_text("GAIA_HOME/admin-token")
        expect(page.locator("#dashboard")).to_be_hidden()

        _log_in(page, gaia, gaia.token)
        expect(page.locator("#connection")).to_have_text("live")
        expect(page.locator('[data-alias="shop:prod"] .segment')).to_have_count(2)
        first, canary = _segments(page, "shop:prod")
        assert (first["revision"], first["tag"], first["label"]) == ("1", "", "@1 70%")
        assert (canary["revision"], canary["tag"], canary["label"]) == (
            "2",
            "canary",
            "canary @2 30%",
        )
        assert first["share"] == pytest.approx(0.70, abs=0.01)
        assert canary["share"] == pytest.approx(0.30, abs=0.01)

        # Asked once per tab: a reload goes straight to the dashboard.
        page.reload()
        expect(page.locator('[data-alias="shop:prod"] .segment')).to_have_count(2)
        expect(page.locator("#login")).to_be_hidden()

        page.evaluate("window.gaiaTestMarker = 'still the same page'")
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        changed = gaia.cli("alias", "set", "shop:prod", "1=100", "2=0", "--tag", "2=canary")
        assert changed.returncode == 0, changed.stderr
        committed = time.monotonic()
        page.wait_for_function(
            """() => [...document.querySelectorAll('[data-alias="shop:prod"] .segment')]
                .map(s => s.dataset.percent).join() === "100" """,
            timeout=2000,
        )
        assert time.monotonic() - committed < 2.0
        assert page.evaluate("window.gaiaTestMarker") == "still the same page"
        assert navigations == []
        [whole] = _segments(page, "shop:prod")
        assert whole["share"] == pytest.approx(1.0)
        # A tagged revision at 0% has no segment, but the legend still names it.
        expect(page.locator('[data-alias="shop:prod"] .legend li')).to_have_text(
            ["@1 100%", "canary @2 0%"]
        )

        # Rollback asks first, says what it restores, and a cancel changes nothing.
        rollback = page.locator('[data-alias="shop:prod"] button.rollback')
        rollback.click()
        dialog = page.locator("#rollback-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Roll back shop:prod?")
        expect(dialog).to_contain_text("@1 70%, canary @2 30%")
        page.click("#rollback-cancel")
        expect(dialog).to_be_hidden()
        assert _split(admin_json(gaia, "/v1/functions/shop/aliases/prod")) == [(1, 100), (2, 0)]
        rollback.click()
        page.click("#rollback-confirm")
        expect(dialog).to_be_hidden()
        assert _split(admin_json(gaia, "/v1/functions/shop/aliases/prod")) == [(1, 70), (2, 30)]
        page.wait_for_function(
            """() => [...document.querySelectorAll('[data-alias="shop:prod"] .segment')]
                .map(s => s.dataset.percent).join() === "70,30" """,
            timeout=2000,
        )
        history = page.locator('[data-alias="shop:prod"] .history')
        history.locator("summary").click()
        expect(history.locator("li")).to_have_count(4)  # created, 70/30, 100/0, rolled back
        expect(history.locator("li").first).to_contain_text(
            "rollback: @1 100%, canary @2 0% → @1 70%, canary @2 30%"
        )
        expect(history.locator("li").first.locator("time")).to_contain_text(" ago")

        # Each revision: its age, digest and the aliases it serves.
        with gaia.admin() as admin:
            revisions = admin.get("/v1/functions/shop/revisions").json()
        for revision in revisions:
            cells = page.locator(f'tr[data-revision="{revision["name"]}"] td')
            expect(cells.nth(1)).to_contain_text(" ago")
            expect(cells.nth(2)).to_have_text(revision["digest"][:12])
            expect(cells.nth(3)).to_have_text(", ".join(revision["aliases"]))

        # The sparklines' figures are the sampler's: requests and 5xx answers.
        with gaia.data() as data:
            for n in range(40):
                data.get("/shop", params={"fail": "1"} if n % 4 == 0 else {})
        shown = wait_for(
            lambda: _trend(page, "shop@1"), timeout=15, what="shop@1's requests on the page"
        )
        # The row's figures are one of the sampler's samples, the newest the page has.
        assert shown in [
            {k: s[k] for k in ("requests_per_s", "error_ratio", "p95_ms") if s[k] is not None}
            for s in admin_json(gaia, "/v1/dashboard")["series"]["shop@1"]
        ]
        expect(page.locator("#span")).to_contain_text("sampled so far")
        served = wait_for(
            lambda: (counted := _served(gaia))[0] >= 38 and counted,
            timeout=15,
            what="the samples to count the 40 requests",
        )
        assert served == (pytest.approx(40, rel=0.05), pytest.approx(10, rel=0.05))

        # A gateway that stops ends the stream at once, and the page tries again; one
        # that comes back with another token has the page ask for it.
        stopping = time.monotonic()
        assert gaia.stop() == 0
        assert time.monotonic() - stopping < 5  # the stream does not hold the shutdown
        expect(page.locator("#connection")).to_contain_text("connection lost")
        (gaia.home / "admin-token").write_text("a-new-token\n")
        gaia.start("-f", str(tmp_path / "gaia.yaml"))
        expect(page.locator("#login-error")).to_contain_text(
            "the gateway refused this token", timeout=15_000
        )
        _log_in(page, gaia, "a-new-token")
        expect(page.locator("#connection")).to_have_text("live")
        assert page.evaluate("window.gaiaTestMarker") == "still the same page"


def _served(gaia: Gaia) -> tuple[float, float]:
    """Requests and 5xx answers the samples add up to, every revision together."""
    view = admin_json(gaia, "/v1/dashboard")
    samples = [s for series in view["series"].values() for s in series]
    seconds = view["sample_interval_s"]
    requests = sum(s["requests_per_s"] * seconds for s in samples)
    errors = sum((s["error_ratio"] or 0) * s["requests_per_s"] * seconds for s in samples)
    return requests, errors


def _trend(page: Page, revision: str) -> dict[str, float] | None:
    """The latest figures a revision's row shows, once it shows some requests."""
    figures: dict[str, str] = page.evaluate(
        """revision => Object.fromEntries([...document.querySelectorAll(
            `tr[data-revision="${revision}"] td[data-metric]`)].map(
            td => [td.dataset.metric, td.dataset.value]))""",
        revision,
    )
    if not figures.get("requests_per_s") or float(figures["requests_per_s"]) == 0:
        return None
    return {name: float(value) for name, value in figures.items() if value}


# The state fields the page shows as figures, of whichever kind reports them.
FIGURES = [
    "in_flight",
    "processed",
    "retried",
    "dead_lettered",
    "lag",
    "stuck",
    "pending",
    "ack_pending",
    "redelivered",
    "lost",
    "claimed",
    "failed",
    "skipped",
    "missed",
]


class Traffic:
    """Requests to /shop from a thread, one in eight failing, until stopped: the
    sparklines' material."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self._url, timeout=10) as client:
            n = 0
            while not self._stop.wait(0.05):
                client.get("/shop", params={"fail": "1"} if n % 8 == 0 else {})
                n += 1

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_the_dashboard_shows_trigger_health_pools_and_migration_progress(
    tmp_path: Path, gaia_factory: GaiaFactory, tansu: Tansu, nats_server: NatsServer
) -> None:
    topic = asyncio.run(new_topic(tansu.bootstrap, "orders"))
    dead, subject, stream = topic_name("dead"), unique("jobs."), unique("JOBS")
    _write_shop(tmp_path, 1)
    write_function(tmp_path / "fn" / "worker", WORKER)
    write_function(tmp_path / "fn" / "tick", TICK)
    (tmp_path / "gaia.yaml").write_text(
        "functions:"
        + SHOP_CONFIG
        + f"""
  orders:
    code: ./fn/worker
    timeout: 10m
    triggers:
      - kafka: {{brokers: {tansu.bootstrap}, topic: {topic}, start: earliest, retries: 0,
                 dead_letter: {dead}, session_timeout: 2s}}
  jobs:
    code: ./fn/worker
    timeout: 10m
    triggers:
      - nats: {{servers: {nats_server.url}, subject: {subject},
                jetstream: {{stream: {stream}, max_ack_pending: 1}}}}
  tick:
    code: ./fn/tick
    triggers:
      - cron: {{schedule: "* * * * * *"}}
legacy:
  upstream: http://127.0.0.1:9
  routes:
    - {{path: /old/items, function: shop:prod, state: function}}
    - {{path: /old/orders}}
"""
    )
    gaia = gaia_factory().start("-f", str(tmp_path / "gaia.yaml"))
    deployed = gaia.cli("deploy", "shop", "--code", str(_write_shop(tmp_path, 2)))
    assert deployed.returncode == 0, deployed.stderr
    split = gaia.cli("alias", "set", "shop:prod", "1=70", "2=30", "--tag", "2=canary")
    assert split.returncode == 0, split.stderr
    wait_for(
        lambda: (
            _state(gaia, "orders/kafka/0")["partitions"]
            and _state(gaia, "jobs/nats/0")["status"] == "running"
        ),
        what="the kafka and nats triggers to run",
    )
    asyncio.run(
        produce(
            tansu.bootstrap,
            topic,
            [(None, f'"{v}"'.encode()) for v in ["poison", "slow", *"abcde"]],
        )
    )

    async def publish() -> None:
        async with connected(nats_server.url) as nc:
            for value in ["slow", *"abcd"]:
                await nc.jetstream().publish(subject, f'"{value}"'.encode())

    asyncio.run(publish())
    with gaia.data() as data:
        for _ in range(3):
            assert data.get("/old/items").status_code == 200  # a function answers
        assert data.get("/old/orders").status_code == 502  # the old API is not there

    with Traffic(gaia.url), browser_page() as page:
        page.goto(f"{gaia.admin_url}/ui")
        _log_in(page, gaia, gaia.token)
        expect(page.locator("#connection")).to_have_text("live")

        # Kafka: the slow record holds its partition's commit: it and the five behind it
        # are lag (the poison before it was dead-lettered and committed).
        kafka = wait_for(
            lambda: (s := _state(gaia, "orders/kafka/0"))["partitions"][0]["lag"] == 6 and s,
            what="the records behind the slow one to show as lag",
        )
        row = page.locator(f'[data-trigger="orders/kafka/0"] tr[data-partition="{topic}/0"]')
        expect(row.locator("td.lag")).to_have_attribute("data-lag", "6", timeout=10_000)
        assert kafka["dead_lettered"] == 1
        _expect_figures(page, gaia, "orders/kafka/0")
        partition = kafka["partitions"][0]
        expect(row.locator("td")).to_have_text(
            [topic, "0", str(partition["committed"]), str(partition["highwater"]), "6", "6", ""]
        )
        expect(page.locator('[data-trigger="orders/kafka/0"] .badge')).to_have_text("running")

        # JetStream: one message in flight, the rest pending on the server.
        wait_for(
            lambda: _state(gaia, "jobs/nats/0")["pending"] == 4,
            what="the messages behind the slow one to be pending",
        )
        _expect_figures(page, gaia, "jobs/nats/0")
        expect(page.locator('[data-trigger="jobs/nats/0"] [data-field="pending"] dd')).to_have_text(
            "4"
        )
        expect(
            page.locator('[data-trigger="jobs/nats/0"] [data-field="ack_pending"] dd')
        ).to_have_text("1")

        # Cron: its last runs, with their outcomes.
        runs = page.locator('[data-trigger="tick/cron/0"] table.runs tbody tr')
        expect(runs).to_have_count(5, timeout=10_000)  # the last 5 of many
        expect(runs.first).to_have_attribute("data-outcome", "succeeded")
        expect(page.locator('[data-trigger="tick/cron/0"]')).to_contain_text("next tick")

        # Pools: one warm instance each, the worker busy with its slow event.
        orders_pool = page.locator('tr[data-pool="orders@1"]')
        expect(orders_pool.locator('[data-field="ready"]')).to_have_text("1")
        expect(orders_pool.locator('[data-field="busy"]')).to_have_text("1")
        [pool] = [
            p for p in admin_json(gaia, "/v1/dashboard")["pools"] if p["revision"] == "orders@1"
        ]
        expect(orders_pool.locator("td")).to_have_text(
            ["orders@1"]
            + [
                str(pool[f])
                for f in ("ready", "busy", "starting", "in_flight", "queued", "cold_starts")
            ]
        )
        # The partition hands its records over one at a time: the slow one runs alone.
        assert (pool["in_flight"], pool["starting"], pool["cold_starts"]) == (1, 0, 1)

        # Migration: routes by state, and the share of old-API traffic functions answer.
        with gaia.admin() as admin:
            migration = admin.get("/v1/migrate").json()
        assert (migration["requests"], migration["served_by_functions"]) == (4, 3)
        expect(page.locator("#migration")).to_be_visible()
        expect(page.locator('#migration .states [data-state="function"]')).to_have_attribute(
            "data-count", "1"
        )
        expect(page.locator('#migration .states [data-state="legacy"]')).to_have_attribute(
            "data-count", "1"
        )
        expect(page.locator("#migration .headline")).to_have_attribute("data-taken-over", "0.75")
        expect(page.locator("#migration .headline")).to_contain_text("75%")
        for route in migration["routes"]:
            cells = page.locator(f'#migration tr[data-route="{route["path"]}"] td')
            expect(cells.nth(2)).to_have_text(route["state"])
            expect(cells.nth(4)).to_have_text(route["function"] or "\u2013")
            expect(cells.nth(5)).to_contain_text(route["next"]["state"])

        # Three samples of traffic make a line worth a picture.
        wait_for(
            lambda: len(admin_json(gaia, "/v1/dashboard")["series"].get("shop@1", [])) >= 3,
            timeout=30,
            what="three samples of shop@1",
        )
        expect(page.locator('tr[data-revision="shop@1"] path.line.rate')).to_have_count(
            1, timeout=10_000
        )
        # Readable on a laptop: nothing wider than the screen.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        keep_screenshot(page, tmp_path / "dashboard.png", for_docs=True)

    # Dark mode: light text on a dark ground, as the system asks.
    with browser_page("dark") as page:
        page.goto(f"{gaia.admin_url}/ui")
        _log_in(page, gaia, gaia.token)
        expect(page.locator("#connection")).to_have_text("live")
        ground, text = page.evaluate(
            """() => [getComputedStyle(document.body).backgroundColor,
                      getComputedStyle(document.body).color]"""
        )
        assert _luminance(ground) < 0.1 < 0.6 < _luminance(text)
        keep_screenshot(page, tmp_path / "dashboard-dark.png")


def _state(gaia: Gaia, trigger: str) -> Any:
    return admin_json(gaia, f"/v1/triggers/{trigger}")["state"]


def _luminance(css: str) -> float:
    """Relative luminance (WCAG) of an `rgb(r, g, b)` colour."""
    channels = [int(c) / 255 for c in css.removeprefix("rgb(").rstrip(")").split(",")]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _expect_figures(page: Page, gaia: Gaia, trigger: str) -> None:
    """The figures a trigger's panel shows are those of its state (stable by now)."""
    state = _state(gaia, trigger)
    shown = page.locator(f'[data-trigger="{trigger}"] .figure')
    fields = [f for f in FIGURES if state.get(f) is not None]
    expect(shown).to_have_count(len(fields))
    for field in fields:
        figure = page.locator(f'[data-trigger="{trigger}"] .figure[data-field="{field}"]')
        expect(figure.locator("dd")).to_have_text(str(state[field]))
