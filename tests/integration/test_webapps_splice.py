"""An ASGI app's HTTP requests go straight to the app's own server in its worker
(runtime_adapters/python/lease.py, http_serve.py) instead of being invoked, and the
client cannot tell: a real gateway before a real sandboxed worker running the Starlette
app. The oracle is the invoked path itself, which a request carrying a `traceparent`
still takes: each generated request is sent both ways and the answers compared (Date,
the request id and the framing aside), and `gateway_http_spliced_total` tells which way
each went. Then what surrounds an answer: the app's `context`, the function's timeout,
a worker that dies mid-request, the per-instance concurrency."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from httpkit.headers import end_to_end
from tests.integration.harness import Gaia, spliced, wait_for
from tests.integration.test_webapps import _code, requests

TRACED = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
TRACE_HEADER = [(b"traceparent", TRACED["traceparent"].encode())]
# What legitimately differs between two answers to the same request.
_UNCOMPARED = {"date", "x-request-id", "traceparent", "content-length", "transfer-encoding"}
GAIA_YAML = """
functions:
  star:
    code: ./star
    interface: asgi
    handler: main:app
    timeout: 2s
    concurrency: 2
    pool: {min: 1, max: 1}
    triggers:
      - http: {path: "/star/{rest:path}"}
"""


@pytest.fixture(scope="module")
def gaia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gaia]:
    tmp = tmp_path_factory.mktemp("webapps_splice")
    _code(tmp, "star", "starlette_app", "starlette")
    (tmp / "gaia.yaml").write_text(GAIA_YAML)
    server = Gaia(tmp / "home")
    try:
        server.start("-f", str(tmp / "gaia.yaml"), wait=False)
        server.wait_ready(timeout=240)  # pip installs Starlette into the revision first
        yield server
    finally:
        server.kill()


def _compared(response: httpx.Response) -> dict[str, Any]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in _UNCOMPARED]
    try:
        seen = json.loads(response.content)
    except ValueError:
        return {"status": response.status_code, "headers": headers, "body": response.content}
    # The request as the app saw it: invoked, the client's headers as they came;
    # spliced, as a hop passes them on (end-to-end ones, the body's length last), and
    # without the trace the invoked one was told to join.
    raw = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in seen["headers"]]
    kept = end_to_end(raw, also_drop=frozenset({b"content-length", b"traceparent"}))
    kept += [(n, v) for n, v in raw if n == b"content-length"]
    seen["headers"] = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in kept]
    return {"status": response.status_code, "headers": headers, "seen": seen}


def _difference(one: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """What differs, down into the request the app saw."""
    inner = (one.get("seen") or {}), (other.get("seen") or {})
    seen = {k: (inner[0].get(k), inner[1].get(k)) for k in {*inner[0], *inner[1]}}
    return {
        **{k: (one.get(k), other.get(k)) for k in ("status", "headers", "body")},
        "seen": {k: pair for k, pair in seen.items() if pair[0] != pair[1]},
    }


def test_generated_requests_are_spliced_and_answered_as_invoked(gaia: Gaia) -> None:
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    cases = list(requests("star", methods, 50, seed=16))
    before = spliced(gaia)
    with gaia.data() as http:
        for case in cases:
            target = case.url.raw_path.decode("ascii")
            headers = case.headers.raw
            passed = http.request(case.method, target, headers=headers, content=case.content)
            http.cookies.clear()  # the same request both ways, no cookie from the first
            invoked = http.request(
                case.method, target, headers=[*headers, *TRACE_HEADER], content=case.content
            )
            http.cookies.clear()
            one, other = _compared(passed), _compared(invoked)
            assert one == other, (case.method, target, _difference(one, other))
            assert passed.headers["x-gaia-revision"] == "star@1"
    assert spliced(gaia) - before == len(cases)  # exactly the untraced ones


def test_the_app_gets_its_context_and_never_the_gateways_header(gaia: Gaia) -> None:
    with gaia.data() as http:
        before = spliced(gaia)
        passed = http.get("/star/context", headers={"x-gaia-context": "from a client"})
        assert spliced(gaia) - before == 1
        invoked = http.get("/star/context", headers=TRACED)
    for answer in (passed, invoked):
        said = answer.json()
        assert said["request_id"] == answer.headers["x-request-id"]
        assert (said["function"], said["revision"], said["trigger"]) == ("star", 1, "http")
        assert 0 < said["remaining_ms"] <= 2000
    assert passed.json()["alias"] == invoked.json()["alias"]
    # A client's own header of that name passes as it came; the gateway's is taken out.
    assert passed.json()["headers"].count("x-gaia-context") == 1


def test_a_spliced_answer_streams(gaia: Gaia) -> None:
    """The app's first piece reaches the client before the app has sent the rest, which
    it sends only once the client has asked it to (another request)."""
    with gaia.data() as http, gaia.data() as other:
        before = spliced(gaia)
        with http.stream("GET", "/star/held") as held:
            pieces = held.iter_raw()
            assert next(pieces) == b"first\n"
            assert other.get("/star/release").status_code == 200
            assert b"".join(pieces) == b"second\n"
        assert held.headers["transfer-encoding"] == "chunked"
        assert spliced(gaia) - before == 2


def _ident(message: str) -> str:
    return re.sub(r"#\d+", "#N", message)


def _served_directly_again(gaia: Gaia, http: httpx.Client) -> None:
    def served_directly() -> bool:
        before = spliced(gaia)
        answered = http.get("/star/again").status_code == 200
        return answered and spliced(gaia) - before == 1

    wait_for(served_directly, what="a spliced request to a new worker")


def test_timeouts_and_a_dead_worker_answer_as_invoked(gaia: Gaia) -> None:
    with gaia.data() as http:
        slow = http.get("/star/slow?sleep_ms=3000")
        slow_invoked = http.get("/star/slow?sleep_ms=3000", headers=TRACED)
        assert (slow.status_code, slow_invoked.status_code) == (504, 504)
        assert slow.json()["message"] == slow_invoked.json()["message"]
        assert slow.json()["message"] == "star@1 did not answer within 2s"
        assert slow.headers["x-gaia-revision"] == "star@1"

        # A worker whose request timed out is replaced, as after an invocation's timeout.
        _served_directly_again(gaia, http)

        # An app that raises: its own server's 500 spliced, gaia's function error invoked.
        raised = http.get("/star/raise")
        assert (raised.status_code, raised.text) == (500, "Internal Server Error")
        assert raised.headers["content-type"] == "text/plain; charset=utf-8"
        # Its traceback is the function's log, a line of the worker's output.
        wait_for(
            lambda: any(
                e.get("function") == "star"
                and e.get("stream") == "stderr"
                and "RuntimeError: the app failed" in str(e.get("line"))
                for e in gaia.json_logs()
            ),
            what="the spliced request's traceback in the function's log",
        )
        raised_invoked = http.get("/star/raise", headers=TRACED)
        assert raised_invoked.status_code == 500
        assert raised_invoked.json()["error"] == "function_error"

        gone = http.get("/star/crash")
        assert (gone.status_code, gone.json()["error"]) == (502, "instance_lost")
        assert gone.json()["request_id"] == gone.headers["x-request-id"]
        gone_invoked = http.get("/star/crash", headers=TRACED)
        assert gone_invoked.status_code == 502
        assert _ident(gone.json()["message"]) == _ident(gone_invoked.json()["message"])

        # The worker is replaced and its successor takes spliced requests again.
        _served_directly_again(gaia, http)


def test_the_instances_concurrency_holds_for_spliced_requests(gaia: Gaia) -> None:
    """Two slots: two slow requests take them, a third waits for one (invoked, queued)
    rather than reaching the app beside them. It waits at most 0.8 s and runs 0.8 s,
    within the 2 s timeout its wait counts against."""
    answers: list[httpx.Response] = []

    def slow() -> None:
        with gaia.data() as http:
            answers.append(http.get("/star/slow?sleep_ms=800"))

    before = spliced(gaia)
    threads = [threading.Thread(target=slow) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert spliced(gaia) - before == 2


def test_lifespan_state_reaches_spliced_requests(gaia: Gaia) -> None:
    with gaia.data() as http:
        before = spliced(gaia)
        seen = http.get("/star/x").json()
        assert spliced(gaia) - before == 1
    assert seen["started"] == "by lifespan"
