"""The legacy proxy's fast path end to end: a real `gaia up` before the real old API
(tests/legacy/oldapi.py), each its own process. Requests the old API answers with
nothing else to do are spliced (counted by gateway_http_spliced_total) and recorded as
before: discovery, the ledger route's evidence, shadow copies, the access log; those
that need more (a function route, a canary) are not."""

from __future__ import annotations

import json
import socket
from datetime import datetime
from pathlib import Path
from typing import Any

import h11

from tests.integration.harness import Gaia, GaiaFactory, spliced, wait_for
from tests.legacy.oldapi import OldApi
from tests.legacy.proxy.test_proxy import config_with


def _start(gaia_factory: GaiaFactory, tmp_path: Path, old_api: OldApi, routes: str) -> Gaia:
    legacy = f"  upstream: {old_api.url}\n  routes:\n{routes}"
    return gaia_factory().start("-f", str(config_with(tmp_path, legacy)))


def _status(gaia: Gaia) -> dict[str, Any]:
    with gaia.admin() as admin:
        found: dict[str, Any] = admin.get("/v1/migrate").json()
    return found


def _evidence(gaia: Gaia, path: str) -> dict[str, Any]:
    route = next(r for r in _status(gaia)["routes"] if r["path"] == path)
    found: dict[str, Any] = route["evidence"]
    return found


def test_plain_requests_are_spliced_and_recorded_and_the_others_are_not(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    routes = """    - {path: /orders, methods: [GET, POST], state: legacy}
    - {path: "/items/{id}", methods: [GET], function: hello, state: canary, percent: 0}"""
    gaia = _start(gaia_factory, tmp_path, old_api, routes)
    before = spliced(gaia)
    with gaia.data() as http:
        assert http.get("/greet/ann").json()["message"] == "hello, ann"  # a function route
        canary = [http.get(f"/items/{n}") for n in (1, 2)]  # canary at 0%: the old API
        orders = [http.get("/orders") for _ in range(3)]  # a ledger route in legacy
        users = [http.get(f"/users/{n}") for n in (41, 42)]  # no ledger route
    assert [r.json()["id"] for r in canary] == ["1", "2"]
    assert [r.status_code for r in orders + users] == [200, 200, 200, 404, 404]
    assert all(r.headers["x-old-api"] == "old" for r in canary + orders + users)
    assert spliced(gaia) - before == 5

    # Recorded as the ASGI path records them: the route's evidence, discovery, the log.
    orders_seen = _evidence(gaia, "/orders")
    assert (orders_seen["requests"], orders_seen["legacy"]["requests"]) == (3, 3)
    assert _evidence(gaia, "/items/{id}")["legacy"]["requests"] == 2
    with gaia.admin() as admin:
        discovered = {d["pattern"]: d for d in admin.get("/v1/migrate/discovered").json()}
    assert (discovered["/users/{id}"]["requests"], discovered["/users/{id}"]["methods"]) == (
        2,
        {"GET": 2},
    )
    assert discovered["/users/{id}"]["error_rate"] == 0.0  # a 404 is not an error
    assert _status(gaia)["requests"] == 7
    logged = {e["request_id"]: e for e in gaia.json_logs() if e.get("fallback")}
    for answer in orders + users:
        line = logged[answer.headers["x-request-id"]]
        assert (line["method"], line["path"], line["status"]) == (
            "GET",
            answer.request.url.path,
            answer.status_code,
        )
        assert float(str(line["duration_ms"])) > 0
        # Every line's time (RFC 3339) and level, as the README's Logs section says.
        assert line["level"] == "info"
        assert datetime.fromisoformat(str(line["time"]).replace("Z", "+00:00")).tzinfo


def test_pipelined_requests_are_answered_in_order(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    gaia = _start(gaia_factory, tmp_path, old_api, "    []")
    before = spliced(gaia)
    with socket.create_connection(("127.0.0.1", gaia.port), timeout=10) as sock:
        sock.sendall(b"".join(b"GET /items/%d HTTP/1.1\r\nHost: t\r\n\r\n" % n for n in (1, 2, 3)))
        client = h11.Connection(h11.CLIENT)
        ids = []
        for _ in range(3):
            client.send(h11.Request(method="GET", target="/", headers=[("Host", "t")]))
            client.send(h11.EndOfMessage())
            body = b""
            while not isinstance(event := client.next_event(), h11.EndOfMessage):
                if event is h11.NEED_DATA:
                    client.receive_data(sock.recv(65536))
                elif isinstance(event, h11.Data):
                    body += event.data
            ids.append(json.loads(body)["id"])
            client.start_next_cycle()
    assert ids == ["1", "2", "3"]
    # At least the first; those that came while it was answered took the ASGI cycle.
    assert 1 <= spliced(gaia) - before <= 3


def test_a_shadowed_route_is_spliced_and_its_copies_compared(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    routes = '    - {path: "/items/{id}", methods: [GET], function: hello, state: shadow}'
    gaia = _start(gaia_factory, tmp_path, old_api, routes)
    before = spliced(gaia)
    with gaia.data() as http:
        answers = [http.get(f"/items/{n}") for n in range(10)]
    assert [a.json()["id"] for a in answers] == [str(n) for n in range(10)]
    assert spliced(gaia) - before == 10
    # Each copy went to the function after its answer, and was compared.
    done = wait_for(lambda: _evidence(gaia, "/items/{id}")["samples"] == 10, what="10 copies")
    assert done
    seen = _evidence(gaia, "/items/{id}")
    assert (seen["requests"], seen["legacy"]["requests"], seen["function"]["requests"]) == (
        10,
        10,
        10,
    )
    assert seen["shadow_dropped"] == seen["shadow_skipped"] == 0
