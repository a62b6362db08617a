"""The legacy router serves each ledger state as the README's legacy section says, over
in-memory stand-ins for the old API and the functions."""

from __future__ import annotations

import pytest

from legacy.ports import ProxiedRequest
from routing.errors import RouteConflict
from tests.legacy.fakes import (
    Answer,
    answering,
    call,
    json_answer,
    unavailable,
)
from tests.legacy.stage import legacy_config, stage


def old_api(request: ProxiedRequest, body: bytes) -> Answer:
    return json_answer({"from": "old", "path": request.path, "body": body.decode()})


NEW = json_answer({"from": "function"})


def route(state: str, **more: object) -> dict[str, object]:
    entry: dict[str, object] = {"path": "/items/{id}", "methods": ["GET", "POST"], "state": state}
    if state != "legacy":
        entry["function"] = "items:prod"
    return entry | more


async def test_a_request_no_ledger_route_matches_goes_to_the_old_api_and_to_discovery() -> None:
    s = stage(legacy_config([route("function")]), old_api, answering(NEW))
    seen = await call(s.router, "GET", "/orders/7")
    assert (seen.status, seen.json()) == (200, {"from": "old", "path": "/orders/7", "body": ""})
    # A ledger path with a method the route does not take is not the route either.
    await call(s.router, "DELETE", "/items/7")
    assert [(r.pattern, dict(r.methods)) for r in s.discovery.routes()] == [
        ("/items/{id}", {"DELETE": 1}),
        ("/orders/{id}", {"GET": 1}),
    ]
    assert s.functions.calls == []
    assert s.book.totals() == (2, 0)
    evidence = s.book.evidence("/items/{id}")
    assert evidence is not None and evidence.requests == 0


async def test_legacy_state_is_answered_by_the_old_api_and_tracked() -> None:
    s = stage(legacy_config([route("legacy")]), old_api, answering(NEW))
    seen = await call(s.router, "POST", "/items/3", body=b"abc", chunks=2)
    assert seen.json() == {"from": "old", "path": "/items/3", "body": "abc"}
    assert seen.returned == 200
    evidence = s.book.evidence("/items/{id}")
    assert evidence is not None
    assert (evidence.requests, evidence.served_by_function) == (1, 0)
    assert (evidence.legacy.requests, evidence.function.requests) == (1, 0)
    assert s.functions.calls == []
    assert s.discovery.routes() == []


async def test_function_state_is_answered_by_the_function_as_an_http_trigger_would() -> None:
    s = stage(legacy_config([route("function")]), old_api, answering(NEW))
    seen = await call(s.router, "POST", "/items/3", body=b"abc", chunks=3, request_id="r-9")
    assert (seen.status, seen.json()) == (200, {"from": "function"})
    assert seen.headers["x-gaia-revision"] == "items@1"
    assert seen.headers["x-request-id"] == "r-9"
    assert seen.headers["content-length"] == str(len(seen.body))
    (called,) = s.functions.calls
    assert (called.target, called.body, dict(called.params)) == ("items:prod", b"abc", {"id": "3"})
    assert s.proxy.asked == []
    assert s.book.totals() == (1, 1)


async def test_a_body_over_the_limit_is_refused_as_an_http_trigger_refuses_it() -> None:
    s = stage(legacy_config([route("function")]), old_api, answering(NEW), body_limit=10)
    seen = await call(s.router, "POST", "/items/3", body=b"x" * 11)
    assert seen.status == 413
    assert seen.json() == {
        "error": "body_too_large",
        "message": "request body is over the limit of 10 bytes",
        "request_id": "rid-1",
    }
    assert s.functions.calls == [] and s.proxy.asked == []


async def test_a_failed_function_on_a_safe_method_falls_back_to_the_old_api() -> None:
    # With a 100% budget every failure may fall back (the bound is tested in test_budget).
    s = stage(legacy_config([route("function")], retry_budget=1), old_api, unavailable(500))
    seen = await call(s.router, "GET", "/items/3")
    assert seen.json() == {"from": "old", "path": "/items/3", "body": ""}
    evidence = s.book.evidence("/items/{id}")
    assert evidence is not None
    assert (evidence.function.requests, evidence.function.errors) == (1, 1)
    assert (evidence.legacy.requests, evidence.served_by_function) == (1, 0)


async def test_a_5xx_answer_counts_as_a_failure_and_a_4xx_does_not() -> None:
    s = stage(
        legacy_config([route("function")], retry_budget=1),
        old_api,
        answering(json_answer({"oops": 1}, status=503)),
    )
    assert (await call(s.router, "GET", "/items/3")).json()["from"] == "old"
    s.functions.behave = answering(json_answer({"missing": 1}, status=404))
    seen = await call(s.router, "GET", "/items/4")
    assert (seen.status, seen.json()) == (404, {"missing": 1})
    assert len(s.proxy.asked) == 1


async def test_a_failed_function_on_an_unsafe_method_is_answered_with_its_error() -> None:
    s = stage(legacy_config([route("function")], retry_budget=1), old_api, unavailable(500))
    seen = await call(s.router, "POST", "/items/3", body=b"x", request_id="r-2")
    assert seen.status == 500
    assert seen.json() == {
        "error": "function_error",
        "message": "the function raised an exception",
        "request_id": "r-2",
    }
    assert seen.headers["x-gaia-revision"] == "items@1"
    assert s.proxy.asked == []


async def test_retired_never_asks_the_old_api_even_when_the_function_fails() -> None:
    s = stage(legacy_config([route("retired")], retry_budget=1), old_api, unavailable(502))
    seen = await call(s.router, "GET", "/items/3")
    assert seen.status == 502 and seen.json()["error"] == "function_error"
    s.functions.behave = answering(NEW)
    assert (await call(s.router, "GET", "/items/4")).json() == {"from": "function"}
    assert s.proxy.asked == []
    assert s.book.totals() == (2, 2)


async def test_canary_sends_its_percent_to_the_function() -> None:
    s = stage(legacy_config([route("canary", percent=30)]), old_api, answering(NEW))
    sides = [(await call(s.router, "GET", f"/items/{i}")).json()["from"] for i in range(1000)]
    share = sides.count("function") / len(sides)
    # 1000 draws at 30%: the standard deviation is 1.45 points; 5 of them is never reached
    # by chance (the draws are seeded anyway).
    assert abs(share - 0.30) < 0.0725
    evidence = s.book.evidence("/items/{id}")
    assert evidence is not None
    assert evidence.served_by_function == sides.count("function")
    assert evidence.function.requests + evidence.legacy.requests == 1000


async def test_canary_is_sticky_by_the_alias_key() -> None:
    s = stage(legacy_config([route("canary", percent=50)]), old_api, answering(NEW), sticky=True)
    for user in range(40):
        headers = [(b"x-user", f"user-{user}".encode())]
        sides = {
            (await call(s.router, "GET", f"/items/{i}", headers=headers)).json()["from"]
            for i in range(5)
        }
        assert len(sides) == 1, f"user-{user} landed on both sides: {sides}"


async def test_a_changed_state_starts_a_fresh_window_and_an_unchanged_one_keeps_it() -> None:
    now = [1000.0]
    config = legacy_config([route("legacy"), {"path": "/a", "state": "legacy"}])
    s = stage(config, old_api, answering(NEW), clock=lambda: now[0])
    await call(s.router, "GET", "/items/1")
    await call(s.router, "GET", "/a")
    now[0] = 2000.0
    s.router.update(legacy_config([route("canary", percent=100), {"path": "/a"}]))
    fresh, kept = s.book.evidence("/items/{id}"), s.book.evidence("/a")
    assert fresh is not None and kept is not None
    assert (fresh.since, fresh.requests) == (2000.0, 0)
    assert (kept.since, kept.requests) == (1000.0, 1)
    assert (await call(s.router, "GET", "/items/1")).json() == {"from": "function"}
    # A new percent is new evidence too; a route the ledger dropped is forgotten.
    now[0] = 3000.0
    s.router.update(legacy_config([route("canary", percent=50)]))
    changed = s.book.evidence("/items/{id}")
    assert changed is not None and changed.since == 3000.0
    assert s.book.evidence("/a") is None
    assert s.book.totals() == (3, 1)


async def test_a_ledger_whose_routes_overlap_is_refused_and_changes_nothing() -> None:
    s = stage(legacy_config([route("function")]), old_api, answering(NEW))
    clash = legacy_config([route("legacy"), {"path": "/items/{key}", "methods": ["GET"]}])
    with pytest.raises(RouteConflict, match=r"/items/\{key\}.*/items/\{id\}|/items/\{id\}.*key"):
        s.router.update(clash)
    assert (await call(s.router, "GET", "/items/1")).json() == {"from": "function"}
