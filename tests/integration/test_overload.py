"""Admission by expected wait, end to end: the real gateway, real workers, /metrics."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path

import httpx

from tests.integration.functions import BEHAVIOURS
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function


def _start(
    tmp_path: Path, gaia_factory: GaiaFactory, *, queue_timeout: str, timeout: str = "5s"
) -> Gaia:
    write_function(tmp_path / "fn" / "act", BEHAVIOURS)
    config = tmp_path / "gaia.yaml"
    config.write_text(
        """
functions:
  act:
    code: ./fn/act
    timeout: TIMEOUT
    concurrency: 1
    pool: {min: 1, max: 1, queue_timeout: QUEUE_TIMEOUT}
    triggers:
      - http: {path: "/act/{action}"}
""".replace("QUEUE_TIMEOUT", queue_timeout).replace("TIMEOUT", timeout)
    )
    return gaia_factory().start("-f", str(config))


def _pool(gaia: Gaia) -> dict[str, int]:
    with gaia.admin() as admin:
        (pool,) = admin.get("/v1/status").json()["pools"]
    return dict(pool)


def _shed(gaia: Gaia, reason: str) -> float:
    line = (
        f'gateway_function_shed_total{{alias="default",function_name="act",'
        f'reason="{reason}",revision="1"}} '
    )
    with gaia.admin() as admin:
        text = admin.get("/metrics").text
    found = [row for row in text.splitlines() if row.startswith(line)]
    return float(found[0].removeprefix(line)) if found else 0.0


def test_a_request_that_would_wait_past_its_deadline_is_shed_at_once(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    # The function's timeout counts the wait too: the last queued call waits 4 s, runs 2.
    gaia = _start(tmp_path, gaia_factory, queue_timeout="5s", timeout="10s")
    with gaia.data() as http, concurrent.futures.ThreadPoolExecutor(4) as threads:
        assert http.get("/act/sleep", params={"s": "2"}).status_code == 200  # a pace to go by
        calls = [threads.submit(http.get, "/act/sleep", params={"s": "2"})]
        wait_for(lambda: _pool(gaia)["in_flight"] == 1, what="the first call to run")
        for queued in (1, 2):
            calls.append(threads.submit(http.get, "/act/sleep", params={"s": "2"}))
            wait_for(lambda n=queued: _pool(gaia)["queued"] == n, what=f"{queued} queued")  # type: ignore[misc]
        # Two queued behind one running, 2 s each: a fourth would start after about 6 s,
        # past its 5 s deadline. (2 s calls: the queue is built and read while the first
        # one runs, which a loaded machine's slow polls could outlast at 1 s.)
        started = time.monotonic()
        shed = http.get("/act/sleep", params={"s": "2"})
        elapsed = time.monotonic() - started
        statuses = [call.result().status_code for call in calls]
    assert shed.status_code == 503
    assert elapsed < 0.2, "shed on arrival, without waiting"
    assert shed.json()["error"] == "saturated"
    assert "would wait about" in shed.json()["message"]
    assert shed.headers["retry-after"] in ("1", "2")
    assert shed.headers["x-gaia-revision"] == "act@1"
    assert statuses[:3] == [200, 200, 200]
    wait_for(lambda: _shed(gaia, "expected_wait") == 1, what="the shed counter")


def test_a_request_still_queued_at_its_deadline_is_a_503_and_a_running_one_a_504(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = _start(tmp_path, gaia_factory, queue_timeout="1s")
    with gaia.data() as http, concurrent.futures.ThreadPoolExecutor(2) as threads:
        # Nothing has finished yet, so nothing predicts a wait: the second call queues.
        running = threads.submit(http.get, "/act/sleep", params={"s": "30"})
        wait_for(lambda: _pool(gaia)["in_flight"] == 1, what="the first call to run")
        started = time.monotonic()
        queued = http.get("/act/ok")
        waited = time.monotonic() - started
        assert running.result().status_code == 504  # it ran, past its 5 s timeout
    assert queued.status_code == 503
    assert 0.9 <= waited < 3.0, waited
    assert "within its deadline of 1s" in queued.json()["message"]
    assert int(queued.headers["retry-after"]) >= 1
    wait_for(lambda: _shed(gaia, "deadline") == 1, what="the shed counter")
    with httpx.Client(base_url=gaia.url) as http:
        assert http.get("/act/ok").text == "ok"
