"""The legacy layer follows `legacy:` at run time: a real `gaia up` started without it,
then `gaia apply` of a file with one, then of one naming another old API (two real old
APIs, tests/legacy/oldapi.py, each its own process)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.integration.harness import Gaia, GaiaFactory, wait_for
from tests.legacy.oldapi import OldApi


def _apply_legacy(gaia: Gaia, tmp_path: Path, settings: str) -> None:
    path = tmp_path / "gaia.yaml"
    path.write_text(f"legacy:\n{settings}")
    done = gaia.cli("apply", "-f", str(path))
    assert done.returncode == 0, done.stderr


def test_legacy_applied_while_running_fronts_the_old_api_and_follows_its_upstream(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    first = OldApi(tmp_path, "first").start()
    second = OldApi(tmp_path, "second").start()
    try:
        gaia = gaia_factory().start()
        with gaia.data() as http, ThreadPoolExecutor(1) as pool:
            missing = http.get("/echo/a")
            assert (missing.status_code, missing.json()["error"]) == (404, "not_found")

            _apply_legacy(gaia, tmp_path, f"  upstream: {first.url}\n")
            response = http.get("/echo/a")
            assert (response.status_code, response.headers["x-old-api"]) == (200, "first")
            assert response.json()["path"] == "/echo/a"

            # A request in flight to the first old API when the upstream changes finishes
            # there: the replaced proxy is closed after it, not under it.
            counts = [first.stats()["requests"]]
            slow = pool.submit(httpx.get, f"{gaia.url}/slow?s=1.5", timeout=10)

            def slow_arrived() -> bool:
                # Each /stats request counts itself: one more than those is the /slow one.
                counts.append(first.stats()["requests"])
                return counts[-1] >= counts[0] + len(counts)

            wait_for(slow_arrived, what="/slow at the first old API")
            _apply_legacy(gaia, tmp_path, f"  upstream: {second.url}\n")
            response = http.get("/echo/a")
            assert (response.status_code, response.headers["x-old-api"]) == (200, "second")
            slowly = slow.result()
            assert (slowly.status_code, slowly.headers["x-old-api"]) == (200, "first")
            assert slowly.json() == {"slept": 1.5}

            # The timeouts are the proxy's too: a shorter read timeout applies at once.
            _apply_legacy(gaia, tmp_path, f"  upstream: {second.url}\n  read_timeout: 300ms\n")
            response = http.get("/slow?s=2")
            assert (response.status_code, response.json()["error"]) == (504, "upstream_timeout")
            # Discovery saw every request the old APIs were asked through the gateway.
            with gaia.admin() as admin:
                discovered = admin.get("/v1/migrate/discovered").json()
            seen = {route["pattern"]: route["requests"] for route in discovered}
            assert seen == {"/echo/a": 2, "/slow": 2}
    finally:
        first.stop()
        second.stop()
