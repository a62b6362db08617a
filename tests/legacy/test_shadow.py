"""Shadow: the old API answers the client, the function gets a copy in the background,
bounded, compared, with the old API's own noise learned."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping

from legacy.ports import ProxiedRequest
from tests.legacy.fakes import Answer, answering, call, json_answer, unavailable
from tests.legacy.stage import legacy_config, stage

PATH = "/items/{id}"


def shadow_route(**more: object) -> dict[str, object]:
    return {
        "path": PATH,
        "methods": ["GET", "POST"],
        "function": "items:prod",
        "state": "shadow",
    } | more


def old_api(request: ProxiedRequest, body: bytes) -> Answer:
    return json_answer({"id": request.path.rsplit("/", 1)[1], "body": body.decode("latin-1")})


async def same_as_old(request: ProxiedRequest, body: bytes, params: Mapping[str, str]) -> Answer:
    return json_answer({"id": params["id"], "body": body.decode()})


async def test_the_client_gets_the_old_answer_and_the_function_a_copy() -> None:
    s = stage(legacy_config([shadow_route()]), old_api, same_as_old)
    seen = await call(s.router, "GET", "/items/5", body=b"q", chunks=1)
    assert seen.json() == {"id": "5", "body": "q"}
    await s.shadow.idle()
    (called,) = s.functions.calls
    assert (called.body, dict(called.params)) == (b"q", {"id": "5"})
    evidence = s.book.evidence(PATH)
    assert evidence is not None
    assert (evidence.samples, evidence.mismatches, evidence.mismatch_rate) == (1, 0, 0.0)
    assert (evidence.served_by_function, evidence.function.requests) == (0, 1)
    assert evidence.example is None


async def test_the_client_is_not_kept_waiting_for_the_function() -> None:
    release = asyncio.Event()

    async def stuck(request: ProxiedRequest, body: bytes, params: Mapping[str, str]) -> Answer:
        await release.wait()
        return json_answer({})

    s = stage(legacy_config([shadow_route()]), old_api, stuck)
    seen = await asyncio.wait_for(call(s.router, "GET", "/items/1"), timeout=5)
    assert seen.json() == {"id": "1", "body": ""}
    release.set()
    await s.shadow.idle()


async def test_a_full_queue_drops_copies_and_counts_them() -> None:
    release = asyncio.Event()

    async def stuck(request: ProxiedRequest, body: bytes, params: Mapping[str, str]) -> Answer:
        await release.wait()
        return await same_as_old(request, body, params)

    config = legacy_config([shadow_route()], shadow={"queue": 3, "concurrency": 2})
    s = stage(config, old_api, stuck)
    for i in range(10):
        assert (await call(s.router, "GET", f"/items/{i}")).json()["id"] == str(i)
    # Two run, three wait, five are dropped.
    evidence = s.book.evidence(PATH)
    assert evidence is not None and evidence.shadow_dropped == 5
    await asyncio.sleep(0)
    assert len(s.functions.calls) == 2
    release.set()
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None
    assert (evidence.samples, evidence.shadow_dropped, len(s.functions.calls)) == (5, 5, 5)


async def test_a_wrong_answer_is_a_mismatch_with_an_example_diff() -> None:
    async def wrong(request: ProxiedRequest, body: bytes, params: Mapping[str, str]) -> Answer:
        return json_answer({"id": params["id"], "body": "WRONG"})

    now = itertools.count(100.0)
    s = stage(legacy_config([shadow_route()]), old_api, wrong, clock=lambda: next(now))
    await call(s.router, "GET", "/items/1", query=b"a=1")
    await call(s.router, "GET", "/items/2")
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None
    assert (evidence.samples, evidence.mismatches, evidence.mismatch_rate) == (2, 2, 1.0)
    assert evidence.example is not None
    # The latest one is kept.
    assert evidence.example.request == "GET /items/2"
    assert evidence.example.differences == ('$.body: "" != "WRONG"',)


async def test_a_function_that_gives_no_answer_is_a_mismatch() -> None:
    s = stage(legacy_config([shadow_route()]), old_api, unavailable(504))
    await call(s.router, "GET", "/items/1")
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None and evidence.example is not None
    assert evidence.example.differences == ("status: 200 != no answer (504 function_error)",)
    assert (evidence.function.errors, evidence.mismatches) == (1, 1)


async def test_noise_is_learned_from_the_old_api_asked_twice() -> None:
    ids = itertools.count()

    def noisy(request: ProxiedRequest, body: bytes) -> Answer:
        return json_answer({"name": "ada", "request_id": next(ids)})

    async def function(request: ProxiedRequest, body: bytes, params: Mapping[str, str]) -> Answer:
        return json_answer({"name": "ada", "request_id": "fn"})

    # Every copy is a noise sample here: the first comparison already knows the noise.
    config = legacy_config([shadow_route()], shadow={"noise_sample": 1, "concurrency": 1})
    s = stage(config, noisy, function)
    for i in range(3):
        await call(s.router, "GET", f"/items/{i}")
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None
    assert evidence.noise_paths == ("$.request_id",)
    assert (evidence.samples, evidence.mismatches) == (3, 0)
    assert sorted(a.how for a in s.proxy.asked) == ["fetch"] * 3 + ["forward"] * 3


async def test_without_noise_samples_the_noisy_field_is_a_mismatch() -> None:
    ids = itertools.count()

    def noisy(request: ProxiedRequest, body: bytes) -> Answer:
        return json_answer({"name": "ada", "request_id": next(ids)})

    config = legacy_config([shadow_route()], shadow={"noise_sample": 0})
    s = stage(config, noisy, answering(json_answer({"name": "ada", "request_id": "x"})))
    await call(s.router, "GET", "/items/1")
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None
    assert (evidence.noise_paths, evidence.mismatches) == ((), 1)
    assert [a.how for a in s.proxy.asked] == ["forward"]


async def test_ignore_paths_are_never_compared() -> None:
    config = legacy_config([shadow_route(compare={"ignore": ["$.body"]})])
    s = stage(config, old_api, answering(json_answer({"id": "1", "body": "other"})))
    await call(s.router, "GET", "/items/1")
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None and (evidence.samples, evidence.mismatches) == (1, 0)


async def test_unsafe_methods_are_not_shadowed_unless_the_route_says_so() -> None:
    s = stage(legacy_config([shadow_route()]), old_api, same_as_old)
    seen = await call(s.router, "POST", "/items/1", body=b"new")
    assert seen.json() == {"id": "1", "body": "new"}
    await s.shadow.idle()
    assert s.functions.calls == []
    evidence = s.book.evidence(PATH)
    assert evidence is not None and (evidence.samples, evidence.shadow_skipped) == (0, 1)

    s.router.update(legacy_config([shadow_route(shadow_unsafe=True)]))
    await call(s.router, "POST", "/items/1", body=b"new")
    await s.shadow.idle()
    assert [c.body for c in s.functions.calls] == [b"new"]


async def test_a_body_over_the_capture_limit_reaches_the_old_api_whole_and_is_not_copied() -> None:
    config = legacy_config([shadow_route(shadow_unsafe=True)], shadow={"capture": 1024})
    s = stage(config, old_api, same_as_old)
    body = bytes(range(256)) * 10
    for headers in ([], [(b"content-length", str(len(body)).encode())]):
        seen = await call(s.router, "POST", "/items/1", body=body, chunks=7, headers=headers)
        assert seen.status == 200
    assert [a.body for a in s.proxy.asked] == [body, body]
    await s.shadow.idle()
    assert s.functions.calls == []
    evidence = s.book.evidence(PATH)
    assert evidence is not None and evidence.shadow_skipped == 2


async def test_an_answer_over_the_capture_limit_is_not_compared() -> None:
    def big(request: ProxiedRequest, body: bytes) -> Answer:
        return json_answer({"blob": "x" * 2000})

    s = stage(legacy_config([shadow_route()], shadow={"capture": 1024}), big, same_as_old)
    seen = await call(s.router, "GET", "/items/1")
    assert len(seen.body) > 2000
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None
    assert (evidence.samples, evidence.shadow_skipped, len(s.functions.calls)) == (0, 1, 0)


async def test_an_old_api_that_is_down_gives_the_client_its_502_and_no_copy() -> None:
    s = stage(legacy_config([shadow_route()]), old_api, same_as_old)
    s.proxy.down = True
    assert (await call(s.router, "GET", "/items/1")).status == 502
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None
    assert (evidence.legacy.errors, evidence.samples, len(s.functions.calls)) == (1, 0, 0)


async def test_a_head_request_is_compared_without_bodies() -> None:
    def no_body(request: ProxiedRequest, body: bytes) -> Answer:
        return Answer(status=200, body=b"")

    s = stage(legacy_config([shadow_route()]), no_body, same_as_old)
    assert (await call(s.router, "HEAD", "/items/1")).body == b""
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None and (evidence.samples, evidence.mismatches) == (1, 0)
    # A status that differs still counts.
    s.functions.behave = answering(json_answer({}, status=404))
    await call(s.router, "HEAD", "/items/1")
    await s.shadow.idle()
    evidence = s.book.evidence(PATH)
    assert evidence is not None and (evidence.samples, evidence.mismatches) == (2, 1)
