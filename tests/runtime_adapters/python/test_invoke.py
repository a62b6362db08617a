"""Warm a revision in real worker processes and invoke it: the handler contract."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest

from runtime_adapters.base import (
    FunctionFailed,
    Invocation,
    PoolSpec,
    RevisionUnknown,
    WarmupError,
)
from runtime_adapters.python import PythonRuntime

from .conftest import Sink, eventually, http, json_body, spec


async def test_warm_then_invoke_returns_the_handlers_result(runtime: PythonRuntime) -> None:
    await runtime.warm(spec("main.hello"))
    result = await runtime.invoke(spec().key, http())
    assert result.status == 200
    assert result.headers == [(b"content-type", b"application/json")]
    assert json_body(result)["message"] == "hello"
    (status,) = runtime.status()
    assert (status.instances, status.ready, status.in_flight, status.queued) == (1, 1, 0, 0)


async def test_example_hello_function(runtime: PythonRuntime) -> None:
    hello = spec("main.handler", bundle=Path(__file__).parents[3] / "examples" / "hello")
    await runtime.warm(hello)
    by_param = await runtime.invoke(hello.key, http(params={"name": "ada"}))
    by_query = await runtime.invoke(hello.key, http(query=b"name=bob"))
    default = await runtime.invoke(hello.key, http())
    assert json_body(by_param) == {"message": "hello, ada"}
    assert json_body(by_query) == {"message": "hello, bob"}
    assert json_body(default) == {"message": "hello, world"}


async def test_warm_is_idempotent_and_concurrent_callers_share_one_warm_up(
    runtime: PythonRuntime,
) -> None:
    await asyncio.gather(*(runtime.warm(spec()) for _ in range(5)))
    await runtime.warm(spec())
    assert [s.instances for s in runtime.status()] == [1]


async def test_invoking_a_revision_never_warmed_is_revision_unknown(
    runtime: PythonRuntime,
) -> None:
    with pytest.raises(RevisionUnknown):
        await runtime.invoke(spec(revision=99).key, http())


@pytest.mark.parametrize(
    ("kind", "status", "content_type", "body"),
    [
        ("str", 200, b"text/plain; charset=utf-8", b"hi"),
        ("bytes", 200, b"application/octet-stream", b"\x00\x01"),
        ("dict", 200, b"application/json", b'{"a":1}'),
        ("list", 200, b"application/json", b"[1,2]"),
        ("none", 204, None, b""),
        ("response", 201, b"application/json", b'{"created":true}'),
        ("text_response", 404, b"text/plain; charset=utf-8", b"nope"),
        ("status_only", 202, None, b""),
        ("not_a_response", 200, b"application/json", b'{"status":201,"extra":1}'),
    ],
)
async def test_return_values_map_to_responses(
    runtime: PythonRuntime, kind: str, status: int, content_type: bytes | None, body: bytes
) -> None:
    await runtime.warm(spec("main.returns"))
    result = await runtime.invoke(spec().key, http(query=f"kind={kind}".encode()))
    assert (result.status, result.body) == (status, body)
    assert dict(result.headers).get(b"content-type") == content_type
    if kind == "response":
        assert (b"x-thing", b"yes") in result.headers


async def test_unsupported_return_value_is_a_function_failure(runtime: PythonRuntime) -> None:
    await runtime.warm(spec("main.returns"))
    with pytest.raises(FunctionFailed, match="handler returned object"):
        await runtime.invoke(spec().key, http(query=b"kind=unsupported"))


async def test_http_event_fields(runtime: PythonRuntime) -> None:
    await runtime.warm(spec("main.echo"))
    invocation = http(
        "/items/7",
        method="POST",
        query=b"a=1&a=2&b=x%20y&empty=",
        headers=[
            (b"content-type", b"application/json"),
            (b"x-multi", b"one"),
            (b"x-multi", b"two"),
            (b"host", b"example"),
        ],
        params={"id": "7"},
        body=b'{"k": [1, 2]}',
    )
    seen = json_body(await runtime.invoke(spec().key, invocation))
    assert seen == {
        "method": "POST",
        "path": "/items/7",
        "params": {"id": "7"},
        "query": {"a": "1", "b": "x y", "empty": ""},
        "query_string": "a=1&a=2&b=x%20y&empty=",
        "content_type": "application/json",
        "multi": "one, two",
        "has_host": True,
        "json": {"k": [1, 2]},
    }


async def test_cloud_event_is_a_mapping_with_attributes(runtime: PythonRuntime) -> None:
    await runtime.warm(spec("main.cloud"))
    event: dict[str, object] = {
        "id": "evt-1",
        "source": "kafka://orders",
        "type": "order.created",
        "specversion": "1.0",
        "data": {"n": 1},
    }
    invocation = Invocation(request_id="r", trigger="kafka", alias="prod", event=event)
    seen = json_body(await runtime.invoke(spec().key, invocation))
    assert seen == {"id": "evt-1", "type": "order.created", "data": {"n": 1}, "trigger": "kafka"}


async def test_context_and_function_env(runtime: PythonRuntime) -> None:
    described = spec("main.context_info", revision=3, timeout_s=5.0, env={"GREETING": "hi"})
    await runtime.warm(described)
    seen = json_body(await runtime.invoke(described.key, http(request_id="req-ctx")))
    remaining = seen.pop("remaining_ms")
    assert 4000 < remaining <= 5000
    assert seen == {
        "function": "kit",
        "revision": 3,
        "alias": "prod",
        "request_id": "req-ctx",
        "trigger": "http",
        "greeting": "hi",
    }


async def test_async_handler_runs_concurrently_on_one_instance(runtime: PythonRuntime) -> None:
    described = spec("main.async_sleep", concurrency=8, pool=PoolSpec(min=1, max=1))
    await runtime.warm(described)
    started = time.monotonic()
    results = await asyncio.gather(
        *(runtime.invoke(described.key, http(query=b"s=0.2")) for _ in range(8))
    )
    elapsed = time.monotonic() - started
    assert elapsed < 0.8, f"8 async sleeps of 0.2s took {elapsed:.2f}s"
    assert {json_body(r)["worker"] for r in results} == {json_body(results[0])["worker"]}
    assert all(json_body(r)["async"] for r in results)
    # As on uvicorn where uvloop is installed (it is a dependency of gaia's).
    assert {json_body(r)["loop"] for r in results} == {"uvloop"}


async def test_sync_handlers_run_concurrently_on_one_instance(runtime: PythonRuntime) -> None:
    described = spec("main.sleep", concurrency=8, pool=PoolSpec(min=1, max=1))
    await runtime.warm(described)
    started = time.monotonic()
    results = await asyncio.gather(
        *(runtime.invoke(described.key, http(query=b"s=0.2")) for _ in range(8))
    )
    elapsed = time.monotonic() - started
    assert elapsed < 0.8, f"8 sleeps of 0.2s took {elapsed:.2f}s"
    assert len({json_body(r)["worker"] for r in results}) == 1


async def test_output_is_captured_per_invocation_with_its_request_id(
    runtime: PythonRuntime, sink: Sink
) -> None:
    await runtime.warm(spec("main.chatty", concurrency=4))
    await asyncio.gather(
        *(runtime.invoke(spec().key, http(request_id=f"req-{i}")) for i in range(4))
    )
    for i in range(4):
        records = sink.for_request(f"req-{i}")
        assert [(r["stream"], r["line"]) for r in records] == [
            ("stdout", "to stdout"),
            ("stderr", "to stderr"),
            ("log", "a log line"),
        ]
        assert all(r["function"] == "kit" and r["revision"] == 1 for r in records)
        assert all((r["trigger"], r["alias"]) == ("http", "prod") for r in records), records
        assert [r["level"] for r in records] == ["info", "error", "info"]


async def test_output_outside_invocations_is_tagged_with_the_instance(
    runtime: PythonRuntime, sink: Sink, tmp_path: Path
) -> None:
    bundle = tmp_path / "noisy"
    bundle.mkdir()
    (bundle / "main.py").write_text(
        'print("importing")\nimport os\n\ndef handler(e, c):\n'
        '    os.write(2, b"raw fd 2\\n")\n    return "ok"\n'
    )
    noisy = spec("main.handler", bundle=bundle, function="noisy")
    await runtime.warm(noisy)
    await runtime.invoke(noisy.key, http(request_id="req-fd"))
    (instance,) = runtime.instances(noisy.key)

    def fd_lines() -> list[tuple[object, object]]:
        return [(r["stream"], r["line"]) for r in sink.records if "instance" in r]

    await eventually(lambda: len(fd_lines()) == 2, what="both fd-level lines")
    assert fd_lines() == [("stdout", "importing"), ("stderr", "raw fd 2")]
    tagged = [r for r in sink.records if "instance" in r]
    assert all(r["function"] == "noisy" and r["revision"] == 1 for r in tagged)
    assert {f"noisy@1#{r['instance']}" for r in tagged} == {instance.name}
    assert sink.for_request("req-fd") == []


async def test_slow_call_does_not_hold_up_fast_ones_on_the_same_instance(
    runtime: PythonRuntime,
) -> None:
    described = spec("main.sleep", concurrency=4, pool=PoolSpec(min=1, max=1))
    await runtime.warm(described)
    slow = asyncio.ensure_future(runtime.invoke(described.key, http(query=b"s=2")))
    await eventually(lambda: runtime.status()[0].in_flight == 1, what="the slow call to start")
    started = time.monotonic()
    for _ in range(5):
        await runtime.invoke(described.key, http(query=b"s=0"))
    elapsed = time.monotonic() - started
    assert elapsed < 0.5, f"5 fast calls beside a slow one took {elapsed:.2f}s"
    assert (await slow).status == 200


async def test_async_handler_output_is_captured(runtime: PythonRuntime, sink: Sink) -> None:
    await runtime.warm(spec("main.async_sleep"))
    await runtime.invoke(spec().key, http(query=b"s=0", request_id="req-async"))
    assert [r["line"] for r in sink.for_request("req-async")] == ["async says hi"]


async def test_installed_requirements_in_dot_deps_are_importable(
    runtime: PythonRuntime, tmp_path: Path
) -> None:
    bundle = tmp_path / "with-deps"
    (bundle / ".deps" / "shout").mkdir(parents=True)
    (bundle / ".deps" / "shout" / "__init__.py").write_text("def up(s):\n    return s.upper()\n")
    (bundle / "main.py").write_text(
        "import shout\n\ndef handler(e, c):\n    return shout.up('hi')\n"
    )
    described = spec("main.handler", bundle=bundle, function="deps")
    await runtime.warm(described)
    assert (await runtime.invoke(described.key, http())).body == b"HI"


async def test_import_error_is_a_warmup_error_with_file_and_line(
    runtime: PythonRuntime, tmp_path: Path
) -> None:
    bundle = tmp_path / "broken"
    bundle.mkdir()
    (bundle / "main.py").write_text("import os\n\nvalue = 1 / 0\n\ndef handler(e, c): pass\n")
    with pytest.raises(WarmupError) as caught:
        await runtime.warm(spec("main.handler", bundle=bundle, function="broken"))
    message = caught.value.message
    assert "ZeroDivisionError: division by zero" in message
    assert 'main.py", line 3' in message
    assert "value = 1 / 0" in message
    assert "runtime_adapters" not in message  # the function's traceback, not ours
    assert runtime.status() == []


async def test_syntax_error_is_a_warmup_error_with_line(
    runtime: PythonRuntime, tmp_path: Path
) -> None:
    bundle = tmp_path / "syntax"
    bundle.mkdir()
    (bundle / "main.py").write_text("def handler(e, c):\n    return (\n")
    with pytest.raises(WarmupError, match=r"SyntaxError") as caught:
        await runtime.warm(spec("main.handler", bundle=bundle, function="syntax"))
    assert 'main.py", line 2' in caught.value.message


async def test_missing_handler_is_a_warmup_error(runtime: PythonRuntime) -> None:
    with pytest.raises(WarmupError, match="has no attribute 'nope'"):
        await runtime.warm(spec("main.nope"))


async def test_warm_after_a_failed_warm_tries_again(runtime: PythonRuntime) -> None:
    with pytest.raises(WarmupError):
        await runtime.warm(spec("main.nope"))
    await runtime.warm(spec("main.hello"))
    assert (await runtime.invoke(spec().key, http())).status == 200


async def test_handler_exception_is_function_failed_with_traceback(
    runtime: PythonRuntime,
) -> None:
    await runtime.warm(spec("main.boom"))
    with pytest.raises(FunctionFailed) as caught:
        await runtime.invoke(spec().key, http())
    assert caught.value.message == "ValueError: boom"
    assert 'main.py", line' in caught.value.traceback
    assert 'raise ValueError("boom")' in caught.value.traceback
    assert "worker.py" not in caught.value.traceback
    # the worker survives its function's exceptions
    (before,) = runtime.instances(spec().key)
    with pytest.raises(FunctionFailed):
        await runtime.invoke(spec().key, http(request_id="again"))
    assert runtime.instances(spec().key) == [before]


async def test_a_reply_nobody_waits_on_is_not_polled_for(runtime: PythonRuntime) -> None:
    # The gateway busy-polls its loop for a reply someone waits on (busypoll.py); an
    # invocation that is not urgent (a shadow copy) gets the same answer the cheap way.
    await runtime.warm(spec("main.hello"))
    polled = runtime.busy_poll.polled
    urgent = await runtime.invoke(spec().key, http())
    unhurried = await runtime.invoke(spec().key, msgspec.structs.replace(http(), urgent=False))
    assert (unhurried.status, unhurried.headers, unhurried.body) == (
        urgent.status,
        urgent.headers,
        urgent.body,
    )
    assert (runtime.busy_poll.polled - polled, runtime.busy_poll.unhurried) == (1, 1)
