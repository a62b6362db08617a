"""Whole web apps (`interface: asgi | wsgi`) in real workers: the scope and environ they
get, the response they give back unchanged, and the ASGI lifespan."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from runtime_adapters.base import FunctionFailed, PoolSpec, RevisionSpec, WarmupError
from runtime_adapters.python import PythonRuntime
from runtime_adapters.python.settings import Interface

from .conftest import MakeRuntime, Sink, eventually, http

APPS = Path(__file__).parent / "functions" / "webapps"


def app_spec(handler: str, interface: Interface, **fields: Any) -> RevisionSpec:
    name = handler.partition(":")[2].replace("_", "-").replace(".", "-").lower()
    return RevisionSpec(
        function=name,
        revision=1,
        digest=f"sha256:{name}",
        runtime="python",
        bundle_dir=APPS,
        handler=handler,
        settings={"interface": interface},
        pool=fields.pop("pool", PoolSpec(min=1, max=1, idle_s=60)),
        **fields,
    )


def _headers(rng: random.Random) -> list[tuple[bytes, bytes]]:
    headers = [(b"host", b"example.test:8443"), (b"content-type", b"application/x-thing")]
    for _ in range(rng.randint(0, 3)):
        name = rng.choice([b"x-multi", b"accept", b"x-trace"])
        headers.append((name, rng.choice([b"a", b"b, c", b"\xe9t\xe9"])))
    return headers


async def test_an_asgi_app_gets_uvicorns_scope_and_its_answer_passes_unchanged(
    runtime: PythonRuntime,
) -> None:
    spec = app_spec("apps:asgi_echo", "asgi")
    await runtime.warm(spec)
    rng = random.Random(3)
    for n in range(20):
        headers = _headers(rng)
        body = rng.randbytes(rng.randint(0, 300))
        invocation = http(
            "/shop/a b/\u00e9/x/y",
            raw_path=b"/shop/a%20b/%C3%A9/x%2Fy",
            query=b"tag=b&tag=a&x=%2F",
            body=body,
            method=rng.choice(["GET", "POST", "PUT", "DELETE"]),
            headers=headers,
            request_id=f"req-{n}",
        )
        result = await runtime.invoke(spec.key, invocation)
        assert result.status == 207
        assert result.headers == [
            (b"content-type", b"application/json"),
            (b"set-cookie", b"a=1"),
            (b"set-cookie", b"b=2"),
        ]
        seen = json.loads(result.body)
        assert seen["path"] == "/shop/a b/\u00e9/x/y" and seen["root_path"] == ""
        assert seen["raw_path"] == "/shop/a%20b/%C3%A9/x%2Fy"
        assert seen["query_string"] == "tag=b&tag=a&x=%2F"
        assert seen["headers"] == [[k.decode("latin-1"), v.decode("latin-1")] for k, v in headers]
        assert seen["body"] == body.decode("latin-1")
        assert seen["request_id"] == f"req-{n}"
        assert seen["fixed"] == ["1.1", "http", None, None]
        # Startup ran once, in this worker, and its state reaches every request.
        assert (seen["state"], seen["startups"]) == ("hi from startup", 1)


async def test_a_wsgi_app_gets_a_pep_3333_environ_checked_by_wsgiref_validate(
    runtime: PythonRuntime, sink: Sink
) -> None:
    spec = app_spec("apps:validated_wsgi_echo", "wsgi", concurrency=4)
    await runtime.warm(spec)
    result = await runtime.invoke(
        spec.key,
        http(
            "/shop/a b/\u00e9/x/y",
            raw_path=b"/shop/a%20b/%C3%A9/x%2Fy",
            query=b"tag=b&tag=a",
            method="POST",
            body=b"\x00\xffpayload",
            headers=[
                (b"host", b"example.test:8443"),
                (b"x-multi", b"a"),
                (b"x-multi", b"b, c"),
                (b"cookie", b"a=1"),
                (b"cookie", b"b=2"),
                (b"x_multi", b"smuggled"),
                (b"transfer-encoding", b"chunked"),
            ],
            request_id="req-wsgi",
        ),
    )
    assert (result.status, result.headers[1:]) == (
        201,
        [(b"set-cookie", b"a=1"), (b"set-cookie", b"b=2")],
    )
    environ = json.loads(result.body)
    assert environ["PATH_INFO"] == "/shop/a b/\u00e9/x/y".encode().decode("latin-1")
    assert (environ["SCRIPT_NAME"], environ["QUERY_STRING"]) == ("", "tag=b&tag=a")
    assert (environ["REQUEST_METHOD"], environ["body"]) == ("POST", "\x00\xffpayload")
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("example.test", "8443")
    # Repeated headers joined as wsgiref joins them, cookies as one cookie string, and
    # the underscore spelling dropped rather than merged into X-Multi.
    assert environ["HTTP_X_MULTI"] == "a,b, c"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert environ["CONTENT_LENGTH"] == "9" and "CONTENT_TYPE" not in environ
    assert [r["line"] for r in sink.for_request("req-wsgi")] == ["to wsgi.errors"]
    assert environ["request_id"] == "req-wsgi"
    assert environ["wsgi"] == {
        "wsgi.version": [1, 0],
        "wsgi.url_scheme": "http",
        "wsgi.multithread": True,  # concurrency 4: four handler threads
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }


async def test_an_app_reached_through_attributes_serves(runtime: PythonRuntime) -> None:
    spec = app_spec("apps:Nested.app", "wsgi")
    await runtime.warm(spec)
    assert (await runtime.invoke(spec.key, http())).status == 201


async def test_an_asgi_app_without_lifespan_support_warms_and_serves(
    runtime: PythonRuntime,
) -> None:
    spec = app_spec("apps:asgi_no_lifespan", "asgi")
    await runtime.warm(spec)
    result = await runtime.invoke(spec.key, http())
    assert (result.status, result.body) == (200, b"ok")


@pytest.mark.parametrize(
    ("handler", "interface", "expected", "key"),
    [
        (
            "apps:asgi_failing_startup",
            "asgi",
            "ASGI lifespan startup failed: the database is not there",
            None,
        ),
        ("apps:asgi_raising_startup", "asgi", "ConnectionError: cannot reach the cache", None),
        (
            "apps:NOT_CALLABLE",
            "asgi",
            "handler 'apps:NOT_CALLABLE' is a dict, not a callable ASGI app",
            "handler",
        ),
        (
            "apps:NOT_CALLABLE",
            "wsgi",
            "handler 'apps:NOT_CALLABLE' is a dict, not a callable WSGI app",
            "handler",
        ),
        ("apps:wsgi_echo", "asgi", "is not an ASGI 3 app", "handler"),
        (
            "apps:asgi_echo",
            "wsgi",
            "is an ASGI app (its __call__ is async def): use interface: asgi",
            "handler",
        ),
        ("apps:nope", "wsgi", "has no attribute 'nope'", "handler"),
    ],
)
async def test_an_app_that_cannot_start_fails_the_warm_with_its_reason(
    runtime: PythonRuntime, handler: str, interface: Interface, expected: str, key: str | None
) -> None:
    with pytest.raises(WarmupError) as caught:
        await runtime.warm(app_spec(handler, interface))
    assert expected in caught.value.message
    # The handler setting is blamed (for the file's line) only where it names no app.
    assert caught.value.key == key
    assert runtime.status() == []


async def test_lifespan_shutdown_runs_when_the_worker_is_stopped(
    runtime: PythonRuntime, sink: Sink
) -> None:
    spec = app_spec("apps:asgi_echo", "asgi")
    await runtime.warm(spec)
    await runtime.retire(spec.key)
    await eventually(
        lambda: any(r.get("line") == "lifespan shutdown ran" for r in sink.records),
        what="the app's shutdown line",
    )


async def test_an_app_that_gives_no_response_or_gets_a_queue_event_fails_the_call(
    runtime: PythonRuntime,
) -> None:
    spec = app_spec("apps:asgi_no_response", "asgi")
    await runtime.warm(spec)
    with pytest.raises(FunctionFailed, match="returned without sending a response"):
        await runtime.invoke(spec.key, http())
    queued = http()
    cloud = type(queued)(
        request_id="r", trigger="kafka", alias="prod", event={"id": "1", "data": None}
    )
    with pytest.raises(FunctionFailed, match="answers HTTP triggers only"):
        await runtime.invoke(spec.key, cloud)


async def test_a_large_body_each_way(make_runtime: MakeRuntime) -> None:
    runtime = await make_runtime()
    spec = app_spec("apps:asgi_echo", "asgi", memory_bytes=512 * 1024**2)
    await runtime.warm(spec)
    body = random.Random(5).randbytes(8 * 1024**2)
    result = await runtime.invoke(spec.key, http(method="POST", body=body))
    assert json.loads(result.body)["body"].encode("latin-1") == body
