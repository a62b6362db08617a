"""`GET /v1/dashboard` as a stream, read as a client would, from a real gateway."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from gateway.ui.schemas import DashboardView, OverviewView
from tests.integration.harness import Gaia, GaiaFactory

Event = tuple[float, str, dict[str, Any]]  # arrival (monotonic), name, data


def _follow(gaia: Gaia, events: queue.Queue[Event], stop: threading.Event) -> None:
    headers = {"authorization": f"Bearer {gaia.token}", "accept": "text/event-stream"}
    with httpx.stream(
        "GET", f"{gaia.admin_url}/v1/dashboard", headers=headers, timeout=30
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        name = ""
        for line in response.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: "):
                events.put((time.monotonic(), name, json.loads(line.removeprefix("data: "))))
    events.put((time.monotonic(), "end of stream", {}))  # the server ended it, cleanly


def _until(events: queue.Queue[Event], name: str, *, within: float) -> Event:
    deadline = time.monotonic() + within
    while (left := deadline - time.monotonic()) > 0:
        try:
            event = events.get(timeout=left)
        except queue.Empty:
            break
        if event[1] == name:
            return event
    raise AssertionError(f"no {name} event within {within}s")


@contextlib.contextmanager
def _stream(gaia: Gaia) -> Iterator[queue.Queue[Event]]:
    events: queue.Queue[Event] = queue.Queue()
    stop = threading.Event()
    thread = threading.Thread(target=_follow, args=(gaia, events, stop), daemon=True)
    thread.start()
    try:
        yield events
    finally:
        stop.set()


def test_the_stream_sends_the_state_then_each_change_at_once_then_samples(
    gaia_factory: GaiaFactory,
) -> None:
    gaia = gaia_factory().start()  # the examples: function hello
    with gaia.admin() as admin:
        assert DashboardView.model_validate(admin.get("/v1/dashboard").json())
    refused = httpx.get(f"{gaia.admin_url}/v1/dashboard", headers={"accept": "text/event-stream"})
    assert refused.status_code == 401
    with _stream(gaia) as events:
        _, _, first = _until(events, "overview", within=10)
        OverviewView.model_validate(first)
        _, _, series = _until(events, "series", within=5)
        assert (series["sample_interval_s"], series["window_s"]) == (5.0, 900.0)
        with gaia.admin() as admin:
            pinned = {"traffic": [{"revision": 1, "percent": 100, "tag": "stable"}]}
            assert admin.put("/v1/functions/hello/aliases/pinned", json=pinned).is_success
            answered = time.monotonic()
        arrived, _, overview = _until(events, "overview", within=2)
        [hello] = OverviewView.model_validate(overview).functions
        assert "pinned" in [a.alias for a in hello.aliases]
        # Sent when the change is committed, not with the next sample 5 s later.
        assert arrived - answered < 1.0
        with gaia.data() as data:
            assert data.get("/hello/ada").status_code == 200
        deadline = time.monotonic() + 15
        while True:
            _, _, sample = _until(events, "sample", within=deadline - time.monotonic())
            if "hello@1" in sample["samples"]:
                break
        assert sample["samples"]["hello@1"]["requests_per_s"] > 0
        # A gateway that stops ends the stream properly rather than waiting on it.
        stopping = time.monotonic()
        assert gaia.stop() == 0
        assert time.monotonic() - stopping < 5
        _until(events, "end of stream", within=5)
