"""Function logs through a real gateway: JSON lines attributed to their invocation on
stderr, and `gaia logs` reading, filtering and following them from the admin API."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
from pathlib import Path
from typing import Any

from tests.integration.harness import GAIA, Gaia, GaiaFactory, wait_for, write_function

CHATTY = """
import sys

def handler(event, context):
    print(f"out {context.request_id}")
    print(f"err {context.request_id}", file=sys.stderr)
    context.logger.warning("warned %s", context.trigger)
    if getattr(event, "query", {}).get("fail"):
        raise RuntimeError("it broke")
    return "ok"
"""

CONFIG = """
functions:
  chatty:
    code: ./chatty
    triggers:
      - http: {path: /chatty}
      - cron: {schedule: "@every 1s"}
"""

LOG_FIELDS = {"time", "level", "request_id", "function", "revision", "trigger"}


def _lines_of(stdout: Any, into: queue.Queue[dict[str, Any]]) -> None:
    for line in stdout:
        into.put(json.loads(line))


def _followers(gaia: Gaia) -> str:
    with gaia.admin() as admin:
        text = admin.get("/metrics").text
    return "\n".join(line for line in text.splitlines() if line.startswith("gateway_log_followers"))


def test_function_output_is_attributed_and_gaia_logs_filters_and_follows(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    write_function(tmp_path / "chatty", CHATTY)
    (tmp_path / "gaia.yaml").write_text(CONFIG)
    gaia = gaia_factory().start("-f", str(tmp_path / "gaia.yaml"))
    follower = subprocess.Popen(
        [*GAIA, "logs", "chatty", "--follow", "--level", "warning", "-o", "json"],
        env=gaia.env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        followed: queue.Queue[dict[str, Any]] = queue.Queue()
        threading.Thread(target=_lines_of, args=(follower.stdout, followed), daemon=True).start()
        wait_for(
            lambda: 'gateway_log_followers{function_name="chatty"} 1.0' in _followers(gaia),
            what="the follower to be counted",
        )
        with gaia.data() as http:
            ok = http.get("/chatty")
            failed = http.get("/chatty", params={"fail": "1"})
        assert (ok.status_code, failed.status_code) == (200, 500)
        ok_id, failed_id = ok.headers["x-request-id"], failed.headers["x-request-id"]

        # The follower sees the failed request's warning lines as they come.
        seen: list[dict[str, Any]] = []

        def failure_followed() -> bool:
            while not followed.empty():
                seen.append(followed.get())
            return any(line.get("request_id") == failed_id and "traceback" in line for line in seen)

        wait_for(failure_followed, what="the follower to print the failure")
        assert all(line["level"] in ("warning", "error") for line in seen), seen
        assert {"stderr", "log"} <= {line.get("stream") for line in seen}
    finally:
        follower.terminate()
        follower.wait(10)
    wait_for(lambda: "chatty" not in _followers(gaia), what="the follower to be forgotten")

    # On stderr: every line about chatty's HTTP invocations, attributed to its request.
    lines: list[dict[str, Any]] = [
        line for line in gaia.json_logs() if line.get("function") == "chatty"
    ]
    by_request = [line for line in lines if line.get("request_id") == ok_id]
    assert {(line.get("stream"), line["level"]) for line in by_request} == {
        ("stdout", "info"),
        ("stderr", "error"),
        ("log", "warning"),
        (None, "info"),  # the access line
    }
    for line in by_request:
        assert line.keys() >= LOG_FIELDS, line
        assert (line["revision"], line["trigger"], line["alias"]) == (1, "http", "default")
    assert {line.get("line") for line in by_request} >= {f"out {ok_id}", f"err {ok_id}"}
    failure = next(line for line in lines if "traceback" in line)
    assert failure["request_id"] == failed_id and failure["level"] == "error"
    assert "RuntimeError: it broke" in failure["traceback"]
    access = next(line for line in lines if line.get("status") == 500)
    assert access["level"] == "error" and access["request_id"] == failed_id
    # A cron run's lines name their trigger; the run id is the request id.
    tick = next(line for line in lines if line.get("trigger") == "chatty/cron/1")
    assert tick["request_id"].startswith("chatty/cron/1@") and tick["request_id"].endswith("#1")

    # The admin API reads the same lines back, filtered (`gaia logs` passes its flags).
    def api_lines(**params: str) -> list[dict[str, Any]]:
        with gaia.admin() as admin:
            response = admin.get("/v1/functions/chatty/logs", params=params)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/x-ndjson"
        return [json.loads(line) for line in response.text.splitlines()]

    everything = api_lines(since="10m")
    assert {line["request_id"] for line in by_request} <= {
        line.get("request_id") for line in everything
    }
    assert api_lines(revision="2") == []
    assert {line["revision"] for line in api_lines(revision="1")} == {1}
    result = gaia.cli("logs", "chatty", "--since", "10m", "--level", "warning", "--revision", "1",
                      "-o", "json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    warnings = [json.loads(line) for line in result.stdout.splitlines()]
    assert {line["level"] for line in warnings} == {"warning", "error"}
    assert failed_id in {line["request_id"] for line in warnings}
    human = gaia.cli("logs", "chatty")
    assert f"stdout: out {ok_id}" in human.stdout
    assert f"chatty@1  {ok_id}  GET /chatty 200" in human.stdout
    with gaia.admin() as admin:
        invoked = admin.post("/v1/functions/chatty/invoke")
    admin_id = invoked.headers["x-request-id"]
    admin_lines = wait_for(
        lambda: [line for line in api_lines() if line.get("request_id") == admin_id],
        what="the lines of an invocation through the admin API",
    )
    assert {line["trigger"] for line in admin_lines} == {"admin"}
    bad = gaia.cli("logs", "chatty", "--since", "soon")
    assert bad.returncode == 2 and "expected a duration" in bad.stderr
    missing = gaia.cli("logs", "ghost")
    assert missing.returncode == 1 and "function 'ghost' does not exist" in missing.stderr
