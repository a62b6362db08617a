"""url functions end to end: a real gateway in front of real endpoint processes
(tests/runtime_adapters/url/endpoint.py), killed, made to fail and restarted by the
tests. Every wait is on a condition with a deadline."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.harness import Gaia, GaiaFactory, free_port, wait_for
from tests.runtime_adapters.url.conftest import Endpoints

# Long enough that the ejected endpoint is still cooling down when the test reads its
# state after 18 more requests and a CLI call (2 s ran out once in CI under load).
COOLDOWN_S = 4.0


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    with Endpoints() as started:
        yield started


def write_config(path: Path, urls: list[str]) -> Path:
    path.write_text(
        f"""
functions:
  users:
    runtime: url
    urls: [{", ".join(urls)}]
    health: {{path: /healthz, interval: 500ms}}
    outlier: {{consecutive_failures: 3, cooldown: {COOLDOWN_S:g}s}}
    timeout: 5s
    triggers:
      - http: {{path: "/users/{{rest:path}}"}}
"""
    )
    return path


def endpoint_states(gaia: Gaia, revision: str = "users@1") -> dict[str, dict[str, Any]]:
    """Each endpoint of the revision as `GET /v1/status` shows it, by URL."""
    with gaia.admin() as admin:
        pools = admin.get("/v1/status").json()["pools"]
    [pool] = [p for p in pools if p["revision"] == revision]
    return {e["url"]: e for e in pool["endpoints"]}


def all_healthy(gaia: Gaia, revision: str = "users@1") -> None:
    """The revision is warm once one endpoint passed its check: wait for the others'."""
    wait_for(
        lambda: all(e["state"] == "healthy" for e in endpoint_states(gaia, revision).values()),
        what=f"every endpoint of {revision} healthy",
    )


def who(http: httpx.Client, count: int = 1) -> list[str]:
    """Which endpoint answered each of `count` requests, one at a time (all must be 200)."""
    names = []
    for _ in range(count):
        response = http.get("/users/who")
        assert response.status_code == 200, response.text
        names.append(response.json()["name"])
    return names


def test_traffic_spreads_by_least_outstanding_and_a_failing_endpoint_is_ejected_and_readmitted(
    tmp_path: Path, gaia_factory: GaiaFactory, endpoints: Endpoints
) -> None:
    a, b = endpoints.start("a"), endpoints.start("b")
    gaia = gaia_factory().start("-f", str(write_config(tmp_path / "gaia.yaml", [a, b])))
    all_healthy(gaia)
    with gaia.data() as http:
        # one at a time, every endpoint has none outstanding: they take turns
        assert Counter(who(http, 10)) == {"a": 5, "b": 5}
        echo = http.post("/users/7?x=1", content=b"ping", headers={"x-test": "it"}).json()
        assert (echo["method"], echo["path"], echo["query"]) == ("POST", "/users/7", "x=1")
        assert (echo["body"], echo["headers"]["x-test"]) == ("ping", "it")
        assert echo["headers"]["host"] == gaia.url.removeprefix("http://")  # the client's
        assert http.get("/users/a%2Fb").json()["path"] == "/users/a%2Fb"  # escapes kept

        # one endpoint busy with a slow request: the next ones all go to the other
        slow = threading.Thread(target=lambda: http.get("/users/who?sleep_ms=2000"))
        slow.start()
        busy = wait_for(
            lambda: next((u for u, e in endpoint_states(gaia).items() if e["in_flight"]), None),
            what="the slow request outstanding",
        )
        assert who(http, 6) == ["b" if busy == a else "a"] * 6
        slow.join()

        # an endpoint answering 500 (its checks too, so it stays out until fixed): three
        # pass through, then it gets nothing more
        endpoints.control("a", status=500, health=500)
        before_ejection = time.monotonic()
        answers = [http.get("/users/who") for _ in range(12)]
        assert [r.json()["name"] for r in answers if r.status_code == 500] == ["a"] * 3
        served = endpoints.served("a", "/users/who")
        assert who(http, 6) == ["b"] * 6
        assert endpoints.served("a", "/users/who") == served
        state = endpoint_states(gaia)[a]
        assert state["state"] == "ejected"
        assert state["detail"].startswith(
            "after 3 failures in a row, the last: answered 500; cool-down ends in "
        )
        described = gaia.cli("describe", "users")
        assert described.returncode == 0, described.stderr
        [row] = [line for line in described.stdout.splitlines() if a in line]
        assert row.split()[:4] == ["users@1", a, "ejected", "0"]
        assert "after 3 failures in a row, the last: answered 500" in row

        # fixed: back once the cool-down is over and a check passes, not before
        endpoints.control("a", status=200, health=200)
        wait_for(lambda: endpoint_states(gaia)[a]["state"] == "healthy", what="a readmitted")
        assert time.monotonic() - before_ejection >= COOLDOWN_S
        assert "a" in who(http, 2)

        # killed: nobody sees it (refused connections go to b), and it is ejected
        endpoints.kill("a")
        before_ejection = time.monotonic()
        assert who(http, 6) == ["b"] * 6
        state = endpoint_states(gaia)[a]
        assert state["state"] == "ejected"
        assert state["detail"].startswith("after 3 failures in a row, the last: cannot connect")
        # restarted: readmitted after the cool-down, and sent requests again
        endpoints.start("a")
        wait_for(lambda: endpoint_states(gaia)[a]["state"] == "healthy", what="a back")
        assert time.monotonic() - before_ejection >= COOLDOWN_S
        assert "a" in who(http, 2)
        assert endpoints.served("a", "/users/who") >= 1

    # each change of a's state was logged, in order (a check timing out on a busy
    # machine may add a flap between them)
    said = [str(r["message"]) for r in gaia.json_logs() if r.get("logger") == "gaia.runtime"]
    back = f"users@1: {a} takes requests"
    ejected = f"users@1: {a} is ejected: after 3 failures in a row, the last:"
    expected = [back, f"{ejected} answered 500;", back, f"{ejected} cannot connect to", back]
    remaining = iter(said)
    assert all(any(m.startswith(e) for m in remaining) for e in expected), said


def test_when_every_endpoint_is_down_requests_get_a_503_naming_each_at_once(
    tmp_path: Path, gaia_factory: GaiaFactory, endpoints: Endpoints
) -> None:
    a, b = endpoints.start("a"), endpoints.start("b")
    gaia = gaia_factory().start("-f", str(write_config(tmp_path / "gaia.yaml", [a, b])))
    endpoints.kill("a")
    endpoints.kill("b")
    with gaia.data() as http:

        def refused() -> httpx.Response | None:
            started = time.monotonic()
            response = http.get("/users/who", timeout=10)
            assert time.monotonic() - started < 5  # never a hang, not even the timeout
            assert response.status_code in (502, 503), response.text
            return response if response.status_code == 503 else None

        response = wait_for(refused, what="a 503 from the url function")
        body = response.json()
        assert body["error"] == "unavailable"
        message = body["message"]
        assert message.startswith(f"users@1: no endpoint can take requests: {a} ")
        assert f"; {b} " in message
        for url, state in endpoint_states(gaia).items():
            assert state["state"] in ("ejected", "down")
            assert f"{url} {state['state']} (" in message
        assert response.headers["x-gaia-revision"] == "users@1"

    described = gaia.cli("describe", "users", "-o", "json")
    pools = json.loads(described.stdout)["pools"]
    assert [p["revision"] for p in pools] == ["users@1"]
    assert [e["url"] for e in pools[0]["endpoints"]] == [a, b]
    assert pools[0]["ready"] == 0


def test_a_bad_config_or_unhealthy_endpoints_change_nothing_and_a_new_url_is_a_new_revision(
    tmp_path: Path, gaia_factory: GaiaFactory, endpoints: Endpoints
) -> None:
    a, b = endpoints.start("a"), endpoints.start("b")
    gaia = gaia_factory().start("-f", str(write_config(tmp_path / "gaia.yaml", [a])))

    def revisions() -> list[int]:
        with gaia.admin() as admin:
            return [r["revision"] for r in admin.get("/v1/functions/users/revisions").json()]

    bad = write_config(tmp_path / "bad.yaml", [a, "https://10.0.0.7"])
    refused = gaia.cli("apply", "-f", str(bad))
    assert refused.returncode != 0
    assert (
        f"{bad}: functions.users.urls[1]: expected an http:// URL with a host and an optional"
        " port, like http://users.default.svc:8080, got 'https://10.0.0.7': https is not"
        " supported (line 5)"
    ) in refused.stderr

    endpoints.control("b", health=503)
    nobody = f"http://127.0.0.1:{free_port()}"
    sick = write_config(tmp_path / "sick.yaml", [b, nobody])
    failed = gaia.cli("apply", "-f", str(sick))
    assert failed.returncode != 0
    assert (
        f"{sick}: functions.users.urls: nothing published: users's new code did not start:"
        f" no endpoint passed its health check: {b}: GET /healthz: answered 503; {nobody}:"
        f" GET /healthz: cannot connect to {nobody.removeprefix('http://')}: "
    ) in failed.stderr, failed.stderr
    assert failed.stderr.rstrip().endswith("Connection refused (line 5)"), failed.stderr
    assert revisions() == [1]
    with gaia.data() as http:
        assert who(http, 2) == ["a", "a"]

    endpoints.control("b", health=200)
    both = write_config(tmp_path / "both.yaml", [a, b])
    applied = gaia.cli("apply", "-f", str(both), "-o", "json")
    assert applied.returncode == 0, applied.stderr
    [plan] = json.loads(applied.stdout)["functions"]
    assert (plan["revision"], plan["created_revision"]) == (2, True)
    assert revisions() == [1, 2]
    all_healthy(gaia, "users@2")
    with gaia.data() as http:
        assert sorted(who(http, 2)) == ["a", "b"]
    again = gaia.cli("apply", "-f", str(both), "-o", "json")
    assert json.loads(again.stdout)["functions"][0]["created_revision"] is False
