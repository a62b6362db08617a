"""The url runtime in front of real endpoint processes (tests/runtime_adapters/url/
endpoint.py): requests pass through, health checks gate warm-up and routing, failing
endpoints are ejected and come back, and nothing waits forever."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from runtime_adapters.base import (
    EndpointStatus,
    InstanceLost,
    Invocation,
    InvocationResult,
    InvocationTimeout,
    RevisionKey,
    RevisionUnknown,
    Unavailable,
    WarmupError,
)
from runtime_adapters.upstream import UpstreamClient
from runtime_adapters.url import health
from runtime_adapters.url.endpoint import Endpoint
from runtime_adapters.url.pool import log as pool_log
from runtime_adapters.url.runtime import UrlRuntime
from runtime_adapters.url.settings import Health
from tests.integration.harness import free_port
from tests.runtime_adapters.python.conftest import eventually, http
from tests.runtime_adapters.url.conftest import Endpoints, url_spec

KEY = RevisionKey(function="users", revision=1)
# Long enough that no check runs during a test unless the test waits for one.
NEVER = "10m"


def seen(result: InvocationResult) -> dict[str, object]:
    data: dict[str, object] = json.loads(result.body)
    return data


def endpoint(runtime: UrlRuntime, url: str) -> EndpointStatus:
    [pool] = runtime.status()
    return next(e for e in pool.endpoints if e.url == url)


async def warm(
    runtime: UrlRuntime,
    endpoints: Endpoints,
    *names: str,
    all_healthy: bool = True,
    **settings: Any,
) -> list[str]:
    """Start the named endpoints and warm users@1 in front of them; their URLs. The
    revision is warm once one endpoint passed its check: with `all_healthy`, this
    waits for the others' too."""
    urls = [endpoints.start(name) for name in names]
    await runtime.warm(url_spec(urls=urls, **settings))
    if all_healthy:
        await eventually(
            lambda: all(e.state == "healthy" for e in runtime.status()[0].endpoints),
            what="every endpoint healthy",
        )
    return urls


async def control(endpoints: Endpoints, name: str, **modes: int) -> None:
    """Endpoints.control off the event loop, so the runtime's checks run meanwhile."""
    await asyncio.to_thread(endpoints.control, name, **modes)


async def served(endpoints: Endpoints, name: str, path: str = "/who") -> int:
    return await asyncio.to_thread(endpoints.served, name, path)


async def names(runtime: UrlRuntime, count: int) -> list[str]:
    """Which endpoint answered each of `count` requests, one at a time."""
    return [str(seen(await runtime.invoke(KEY, http("/who")))["name"]) for _ in range(count)]


async def test_a_request_reaches_the_endpoint_as_it_came(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    [a] = await warm(runtime, endpoints, "a")
    result = await runtime.invoke(
        KEY,
        http("/users/7", query=b"x=1&y=2", body=b"ping", method="POST",
             headers=[(b"host", b"api.example.com"), (b"x-test", b"yes")]),
    )  # fmt: skip
    assert result.status == 200
    request = seen(result)
    assert (request["method"], request["path"], request["query"]) == ("POST", "/users/7", "x=1&y=2")
    assert request["body"] == "ping"
    headers = request["headers"]
    assert isinstance(headers, dict)
    assert (headers["host"], headers["x-test"]) == ("api.example.com", "yes")  # Host kept
    assert (b"content-type", b"application/json") in result.headers
    assert not [name for name, _ in result.headers if name == b"date"]  # the gateway's own

    event: dict[str, object] = {"specversion": "1.0", "id": "e1", "source": "/q", "type": "t"}
    queued = seen(await runtime.invoke(KEY, Invocation(
        request_id="r2", trigger="nats", alias="default", event=event
    )))  # fmt: skip
    assert (queued["method"], queued["path"]) == ("POST", "/")
    headers = queued["headers"]
    assert isinstance(headers, dict)
    assert headers["content-type"] == "application/cloudevents+json"
    assert headers["host"] == a.removeprefix("http://")  # none came: the endpoint's
    assert json.loads(str(queued["body"])) == event


async def test_warm_up_fails_naming_each_endpoint_and_what_it_answered(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    a = endpoints.start("a")
    await control(endpoints, "a", health=500)
    nobody = free_port()
    b = f"http://127.0.0.1:{nobody}"
    with pytest.raises(WarmupError) as caught:
        await runtime.warm(url_spec(urls=[a, b], health="/healthz"))
    assert caught.value.key == "urls"
    message = caught.value.message
    prefix = (
        f"users@1: no endpoint passed its health check: {a}: GET /healthz: answered 500;"
        f" {b}: GET /healthz: cannot connect to 127.0.0.1:{nobody}: "
    )
    assert message.startswith(prefix), message
    assert runtime.status() == []

    # without a path, a check is a connection to the port
    with pytest.raises(WarmupError) as caught:
        await runtime.warm(url_spec(revision=2, urls=[b]))
    assert caught.value.message == (
        f"users@2: no endpoint passed its health check: {b}: connection refused"
    )


async def test_only_endpoints_that_pass_their_checks_get_requests(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    a, b = endpoints.start("a"), endpoints.start("b")
    await control(endpoints, "b", health=503)
    await runtime.warm(url_spec(urls=[a, b], health={"path": "/healthz", "interval": "300ms"}))
    # warm once a passed: b's first check may still be under way
    await eventually(lambda: endpoint(runtime, b).state != "unchecked", what="b checked")
    assert endpoint(runtime, b) == EndpointStatus(
        url=b, state="down", in_flight=0, detail="health check failed: GET /healthz: answered 503"
    )
    assert await names(runtime, 6) == ["a"] * 6
    assert await served(endpoints, "b") == 0

    await control(endpoints, "b", health=302)  # 2xx or 3xx passes
    await eventually(lambda: endpoint(runtime, b).state == "healthy", what="b passing")
    assert sorted(await names(runtime, 4)) == ["a", "a", "b", "b"]


async def test_a_refused_connection_is_tried_on_the_next_endpoint_and_ejects_the_dead_one(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    a, _ = await warm(
        runtime,
        endpoints,
        "a",
        "b",
        health={"interval": NEVER},
        outlier={"consecutive_failures": 2, "cooldown": "1m"},
    )
    endpoints.kill("a")
    assert await names(runtime, 6) == ["b"] * 6  # nobody sees a's refusals
    status = endpoint(runtime, a)
    assert (status.state, status.in_flight) == ("ejected", 0)
    assert status.detail.startswith(
        f"after 2 failures in a row, the last: cannot connect to {a.removeprefix('http://')}: "
    ), status.detail
    assert "; cool-down ends in " in status.detail
    assert await served(endpoints, "b") == 6


async def test_5xx_answers_pass_through_and_consecutive_ones_eject_the_endpoint(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    a, _ = await warm(
        runtime,
        endpoints,
        "a",
        "b",
        health={"path": "/healthz", "interval": NEVER},
        outlier={"consecutive_failures": 3, "cooldown": "1m"},
    )
    await control(endpoints, "a", status=503)
    answers = [await runtime.invoke(KEY, http("/who")) for _ in range(12)]
    failed = [seen(r)["name"] for r in answers if r.status == 503]
    assert failed == ["a", "a", "a"]  # passed through as the endpoint gave them
    assert await served(endpoints, "a") == 3  # and after the third, nothing more
    assert await names(runtime, 10) == ["b"] * 10
    assert await served(endpoints, "a") == 3
    assert endpoint(runtime, a).detail.startswith(
        "after 3 failures in a row, the last: answered 503; cool-down ends in "
    )


async def test_an_ejected_endpoint_is_back_when_its_cooldown_ends_not_a_whole_interval_later(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    a, _ = await warm(
        runtime,
        endpoints,
        "a",
        "b",
        health={"path": "/healthz", "interval": "1m"},
        outlier={"consecutive_failures": 1, "cooldown": "500ms"},
    )
    await control(endpoints, "a", status=500)
    before_ejection = time.monotonic()
    statuses = sorted([(await runtime.invoke(KEY, http("/who"))).status for _ in range(2)])
    assert statuses == [200, 500]
    assert endpoint(runtime, a).state == "ejected"
    await control(endpoints, "a", status=200)
    await eventually(lambda: endpoint(runtime, a).state == "healthy", what="a readmitted")
    back_after = time.monotonic() - before_ejection
    assert back_after >= 0.5
    assert back_after < 30  # the check came with the cool-down's end, not the 1m interval
    assert "a" in await names(runtime, 2)


async def test_a_failing_check_after_the_cooldown_keeps_the_endpoint_out(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    a, _ = await warm(
        runtime,
        endpoints,
        "a",
        "b",
        health={"path": "/healthz", "interval": "300ms"},
        outlier={"consecutive_failures": 1, "cooldown": "300ms"},
    )
    await control(endpoints, "a", status=500, health=500)
    statuses = sorted([(await runtime.invoke(KEY, http("/who"))).status for _ in range(2)])
    assert statuses == [200, 500]
    ejected_at = time.monotonic()
    checks = await served(endpoints, "a", "/healthz")
    # checks of a after its cool-down's end (300ms) have failed: still out, no requests
    deadline = ejected_at + 10
    while (
        time.monotonic() - ejected_at < 0.3 or await served(endpoints, "a", "/healthz") < checks + 3
    ):
        assert time.monotonic() < deadline, "timed out waiting for checks of a"
        await asyncio.sleep(0.05)
    status = endpoint(runtime, a)
    assert status.state == "ejected"
    assert status.detail.endswith("cool-down over, back on its next passing health check")
    assert await names(runtime, 4) == ["b"] * 4
    await control(endpoints, "a", status=200, health=200)
    await eventually(lambda: endpoint(runtime, a).state == "healthy", what="a readmitted")


async def test_when_no_endpoint_can_take_a_request_it_is_refused_at_once_naming_each(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    a, b = await warm(
        runtime,
        endpoints,
        "a",
        "b",
        health={"interval": NEVER},
        outlier={"consecutive_failures": 1, "cooldown": "1m"},
    )
    endpoints.kill("a")
    endpoints.kill("b")
    for _ in range(3):
        async with asyncio.timeout(5):  # never a hang
            with pytest.raises(Unavailable) as caught:
                await runtime.invoke(KEY, http("/who"))
        assert caught.value.status == 503
        message = caught.value.message
        state = "ejected (after 1 failure in a row, the last: cannot connect to "
        assert message.startswith(f"users@1: no endpoint can take requests: {a} {state}")
        assert f"; {b} {state}" in message
        assert message.endswith(")") and "cool-down ends in " in message
    [pool] = runtime.status()
    assert (pool.instances, pool.ready, pool.in_flight, pool.queued) == (2, 0, 0, 0)


async def test_a_dead_endpoint_that_is_not_ejected_yet_is_a_502_naming_it(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    [a] = await warm(runtime, endpoints, "a", health={"interval": NEVER})
    endpoints.kill("a")
    with pytest.raises(InstanceLost) as caught:
        await runtime.invoke(KEY, http("/who"))
    assert caught.value.message.startswith(
        f"users@1: no endpoint took the connection: {a}: cannot connect to "
    )
    assert endpoint(runtime, a).detail.startswith("1 failed in a row, the last: cannot connect")


async def test_an_endpoint_past_the_timeout_is_a_504_and_counts_as_a_failure(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    [a] = await warm(runtime, endpoints, "a", timeout="300ms")
    started = time.monotonic()
    with pytest.raises(InvocationTimeout) as caught:
        await runtime.invoke(KEY, http("/who", query=b"sleep_ms=3000"))
    assert time.monotonic() - started < 2.5
    assert caught.value.message == f"users@1: {a} did not answer within 0.3s"
    assert endpoint(runtime, a).detail == "1 failed in a row, the last: no answer within 0.3s"
    assert (await runtime.invoke(KEY, http("/who"))).status == 200  # a success resets it
    assert endpoint(runtime, a).detail == ""


async def test_a_connection_lost_after_the_request_went_out_is_a_502_naming_the_endpoint(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    a, _ = await warm(runtime, endpoints, "a", "b", health={"interval": NEVER})
    with pytest.raises(InstanceLost) as caught:
        await runtime.invoke(KEY, http("/who", query=b"drop=1"))
    # not tried again elsewhere: the endpoint may have acted on it
    assert caught.value.message == (
        f"users@1: {a}: no usable answer: the upstream closed the connection"
    )
    assert await served(endpoints, "a") + await served(endpoints, "b") == 1
    assert endpoint(runtime, a).detail == (
        "1 failed in a row, the last: the upstream closed the connection"
    )


async def test_the_wait_for_a_slot_counts_against_the_timeout(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    await warm(runtime, endpoints, "a", concurrency=1, timeout="1s")
    first = asyncio.ensure_future(runtime.invoke(KEY, http("/who", query=b"sleep_ms=700")))
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the first in flight")
    # alone it would answer in time; after its wait, what is left of 1s is too short
    with pytest.raises(InvocationTimeout):
        await runtime.invoke(KEY, http("/who", query=b"sleep_ms=500"))
    assert (await first).status == 200


async def test_requests_beyond_concurrency_wait_their_turn(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    [a] = await warm(runtime, endpoints, "a", concurrency=1)
    first = asyncio.ensure_future(runtime.invoke(KEY, http("/who", query=b"sleep_ms=300")))
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the first in flight")
    second = asyncio.ensure_future(runtime.invoke(KEY, http("/who")))
    await eventually(lambda: runtime.status()[0].queued == 1, what="the second queued")
    assert endpoint(runtime, a).in_flight == 1  # never two at once
    assert not second.done()
    assert [(await first).status, (await second).status] == [200, 200]
    [pool] = runtime.status()
    assert (pool.in_flight, pool.queued) == (0, 0)


async def test_the_endpoint_with_fewest_outstanding_requests_gets_the_next_one(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    _, b = await warm(runtime, endpoints, "a", "b")
    slow = asyncio.ensure_future(runtime.invoke(KEY, http("/who", query=b"sleep_ms=1000")))
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the slow one in flight")
    [pool] = runtime.status()
    busy = next(e.url for e in pool.endpoints if e.in_flight == 1)
    other = "a" if busy == b else "b"
    # round robin would send every other one to the busy endpoint
    assert await names(runtime, 6) == [other] * 6
    assert (await slow).status == 200


async def test_a_retired_revision_takes_no_more_requests(
    runtime: UrlRuntime, endpoints: Endpoints
) -> None:
    await warm(runtime, endpoints, "a")
    await runtime.retire(KEY)
    with pytest.raises(RevisionUnknown):
        await runtime.invoke(KEY, http("/who"))
    assert runtime.status() == []


async def test_a_check_that_raises_counts_as_failed_and_the_checks_go_on(
    runtime: UrlRuntime, endpoints: Endpoints, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = health.probe
    raised: list[str] = []

    async def probe(endpoint: Endpoint, client: UpstreamClient, settings: Health) -> str | None:
        if endpoint.name == endpoints.url("a") and not raised:
            raised.append(endpoint.name)
            raise RuntimeError("boom")
        return await real(endpoint, client, settings)

    monkeypatch.setattr(health, "probe", probe)
    a, _ = await warm(runtime, endpoints, "a", "b", all_healthy=False, health={"interval": "2s"})
    await eventually(lambda: bool(raised), what="a's first check")
    assert raised == [a]
    assert endpoint(runtime, a).detail == (
        "health check failed: the check failed: RuntimeError('boom')"
    )
    await eventually(lambda: endpoint(runtime, a).state == "healthy", what="a checked again")


async def test_an_endpoint_state_is_logged_when_it_changes_not_at_every_check(
    runtime: UrlRuntime, endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger=pool_log.name)
    (a,) = await warm(runtime, endpoints, "a", health={"path": "/healthz", "interval": "300ms"})

    def lines(text: str) -> int:
        return sum(text in r.getMessage() for r in caplog.records if r.name == pool_log.name)

    await eventually(lambda: endpoints.served("a", "/healthz") >= 4, what="four checks passed")
    assert lines(f"{a} takes requests") == 1
    await control(endpoints, "a", health=503)
    await eventually(lambda: endpoint(runtime, a).state == "down", what="a down")
    failed_at = await served(endpoints, "a", "/healthz")
    await eventually(
        lambda: endpoints.served("a", "/healthz") >= failed_at + 3, what="three more checks"
    )
    assert lines(f"{a} is down") == 1
    assert lines(f"{a} takes requests") == 1
