"""HTTP triggers end to end: the real gateway process, real workers."""

from __future__ import annotations

import concurrent.futures
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs

from tests.integration.functions import BEHAVIOURS, ECHO
from tests.integration.harness import GaiaFactory, wait_for, write_function


def _config(tmp_path: Path, extra: str = "") -> Path:
    write_function(tmp_path / "fn" / "echo", ECHO)
    write_function(tmp_path / "fn" / "act", BEHAVIOURS)
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  echo:
    code: ./fn/echo
    triggers:
      - http: {{path: "/echo/{{id}}/{{rest:path}}", methods: [GET, POST]}}
  act:
    code: ./fn/act
    timeout: 1s
    memory: 128Mi
    concurrency: 1
    pool: {{min: 1, max: 2, idle: 5m, queue: 2}}
    triggers:
      - http: {{path: "/act/{{action}}"}}
{extra}
"""
    )
    return path


def test_event_contract_and_response_mapping(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    gaia = gaia_factory().start("-f", str(_config(tmp_path)))
    with gaia.data() as http:
        response = http.post(
            "/echo/42/a/b/c?x=1&y=2",
            content=b'{"k": 1}',
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 200
        body = response.json()
        assert body["method"] == "POST"
        assert body["params"] == {"id": "42", "rest": "a/b/c"}
        assert body["query"] == {"x": "1", "y": "2"}
        assert body["content_type"] == "application/json"
        assert body["body"] == '{"k": 1}'
        assert body["alias"] == "default"
        assert body["request_id"] == response.headers["x-request-id"]
        assert response.headers["x-gaia-revision"] == "echo@1"

        # Two Cookie headers reach the function as one cookie-string (RFC 6265 joins
        # them with "; "), other repeated headers with ", "; repeated query keys give
        # their first value in `query`, all of them in order in `query_all`.
        repeated = http.get(
            "/echo/1/r?tag=b&x=1&tag=a&tag=",
            headers=[("cookie", "a=1; b=2"), ("cookie", "c=3"), ("accept", "a/b"),
                     ("accept", "c/d")],
        )  # fmt: skip
        body = repeated.json()
        assert body["cookie"] == "a=1; b=2; c=3" and body["accept"] == "a/b, c/d"
        jar = SimpleCookie(body["cookie"])
        assert {name: morsel.value for name, morsel in jar.items()} == {
            "a": "1",
            "b": "2",
            "c": "3",
        }
        assert body["query"] == {"tag": "b", "x": "1"}
        assert body["query_all"] == {"tag": ["b", "a", ""], "x": ["1"]}
        assert body["query_all"] == parse_qs("tag=b&x=1&tag=a&tag=", keep_blank_values=True)

        made = http.get("/act/status")
        assert (made.status_code, made.headers["x-made"], made.text) == (201, "yes", "made")
        none = http.get("/act/none")
        assert none.status_code == 204 and "content-length" not in none.headers
        assert http.get("/act/ok").text == "ok"


def test_http_errors_are_json_and_named(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    gaia = gaia_factory().start("-f", str(_config(tmp_path)))
    with gaia.data() as http:
        missing = http.get("/nope")
        assert missing.status_code == 404
        assert missing.json()["error"] == "not_found"

        wrong_method = http.delete("/echo/1/x")
        assert wrong_method.status_code == 405
        assert wrong_method.headers["allow"] == "GET, HEAD, POST"

        too_big = http.post("/echo/1/x", content=b"x" * (10 * 1024 * 1024 + 1))
        assert too_big.status_code == 413
        assert too_big.json()["error"] == "body_too_large"

        failed = http.get("/act/raise")
        assert failed.status_code == 500
        request_id = failed.json()["request_id"]
        assert request_id == failed.headers["x-request-id"]
        # The traceback stays in the logs, keyed by the request id, never in the response.
        assert "secret-detail-in-traceback" not in failed.text
    wait_for(
        lambda: "secret-detail-in-traceback" in gaia.logs() and request_id in gaia.logs(),
        what="the traceback in the gateway log",
    )


def test_timeout_gives_504_and_the_function_keeps_serving(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(_config(tmp_path)))
    with gaia.data() as http:
        slow = http.get("/act/sleep", params={"s": "30"})
        assert slow.status_code == 504
        assert slow.json()["error"] == "timeout"
        assert http.get("/act/ok").text == "ok"


def test_full_queue_gives_503_with_retry_after(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    gaia = gaia_factory().start("-f", str(_config(tmp_path)))
    # max 2 instances x concurrency 1, plus a queue of 2: the fifth concurrent call is refused.
    with gaia.data() as http, concurrent.futures.ThreadPoolExecutor(8) as pool:
        calls = [pool.submit(http.get, "/act/sleep", params={"s": "0.8"}) for _ in range(8)]
        responses = [call.result() for call in calls]
    statuses = sorted(r.status_code for r in responses)
    refused = [r for r in responses if r.status_code == 503]
    assert refused, statuses
    assert all(r.headers["retry-after"].isdigit() for r in refused)
    assert 200 in statuses


def test_function_output_is_logged_with_its_request_id(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(_config(tmp_path)))
    with gaia.data() as http:
        response = http.get("/act/print")
    request_id = response.headers["x-request-id"]

    def captured() -> bool:
        return any(
            entry.get("request_id") == request_id
            and f"printed by {request_id}" in str(entry.get("line", entry.get("message", "")))
            for entry in gaia.json_logs()
        )

    wait_for(captured, what="the function's stdout line in the log")


def test_access_log_has_one_json_line_per_request(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(_config(tmp_path)))
    with gaia.data() as http:
        response = http.get("/echo/7/z")
    request_id = response.headers["x-request-id"]

    def entry() -> dict[str, object] | None:
        return next(
            (e for e in gaia.json_logs() if e.get("request_id") == request_id and "status" in e),
            None,
        )

    line = wait_for(entry, what="the access log line")
    assert line["route"] == "/echo/{id}/{rest:path}"
    assert line["function"] == "echo"
    assert line["revision"] == 1
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float)
