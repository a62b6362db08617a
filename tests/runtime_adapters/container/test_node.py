"""A container function in another language (the Node.js on this machine), run as a
real sandboxed process: requests pass through, and failures name their reason."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import msgspec
import pytest

from runtime_adapters.base import InstanceLost, Invocation, InvocationTimeout, WarmupError
from runtime_adapters.container.runtime import ContainerRuntime
from tests.runtime_adapters.container.conftest import APPS, container_spec, require
from tests.runtime_adapters.python.conftest import Sink, http

NODE = APPS / "node"


@pytest.fixture(autouse=True)
def _node() -> None:
    require("node")


async def test_a_node_server_answers_http_through_the_runtime(runtime: ContainerRuntime) -> None:
    spec = container_spec(
        NODE, command=["node", "server.js"], env={"GREETING": "hej"}, readiness="/healthz"
    )
    await runtime.warm(spec)
    result = await runtime.invoke(
        spec.key,
        http("/echo", query=b"a=1&b=two", body=b"payload", method="POST",
             headers=[(b"x-test", b"yes"), (b"content-type", b"text/plain")]),
    )  # fmt: skip
    assert result.status == 201
    assert (b"content-type", b"application/json") in result.headers
    seen = json.loads(result.body)
    assert seen["method"] == "POST"
    assert (seen["path"], seen["query"], seen["header"]) == ("/echo", "?a=1&b=two", "yes")
    assert (seen["body"], seen["greeting"], seen["cwd"]) == ("payload", "hej", "/code")
    assert int(seen["port"]) > 0
    # pid 1 of the instance's own namespace is bubblewrap: node is a low pid inside it
    assert seen["pid"] < 10


async def test_the_path_reaches_the_instance_as_the_client_sent_it(
    runtime: ContainerRuntime,
) -> None:
    spec = container_spec(NODE, command=["node", "server.js"])
    await runtime.warm(spec)
    sent = http("/files/a b/c/é", raw_path=b"/files/a%20b%2Fc/%C3%A9", query=b"q=%2F")
    seen = json.loads((await runtime.invoke(spec.key, sent)).body)
    # Escapes kept: `%2F` is not a path separator to the instance either.
    assert (seen["path"], seen["query"]) == ("/files/a%20b%2Fc/%C3%A9", "?q=%2F")
    # An invocation no client sent (the admin API's) has no raw path: it is escaped.
    seen = json.loads((await runtime.invoke(spec.key, http("/files/a b/é"))).body)
    assert seen["path"] == "/files/a%20b/%C3%A9"


async def test_a_queue_event_arrives_as_a_structured_cloudevent(
    runtime: ContainerRuntime,
) -> None:
    spec = container_spec(NODE, command=["node", "server.js"])
    await runtime.warm(spec)
    event: dict[str, object] = {
        "specversion": "1.0",
        "id": "e1",
        "source": "/q",
        "type": "t",
        "data": {"n": 1},
    }
    invocation = Invocation(request_id="r1", trigger="nats", alias="default", event=event)
    seen = json.loads((await runtime.invoke(spec.key, invocation)).body)
    assert (seen["method"], seen["path"]) == ("POST", "/")
    assert seen["content_type"] == "application/cloudevents+json"
    assert json.loads(seen["body"]) == event


async def test_a_traced_invocation_reaches_the_instance_as_its_traceparent_header(
    runtime: ContainerRuntime,
) -> None:
    spec = container_spec(NODE, command=["node", "server.js"])
    await runtime.warm(spec)
    caller = b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    ours = "00-0af7651916cd43dd8448eb211c80319c-1111111111111111-01"
    traced = msgspec.structs.replace(
        http("/echo", headers=[(b"traceparent", caller)]), traceparent=ours
    )
    seen = json.loads((await runtime.invoke(spec.key, traced)).body)
    assert seen["traceparent"] == ours, "the span it runs under replaces the caller's"
    untraced = json.loads(
        (await runtime.invoke(spec.key, http("/echo", headers=[(b"traceparent", caller)]))).body
    )
    assert untraced["traceparent"] == caller.decode(), "untraced: headers pass unchanged"
    event: dict[str, object] = {"specversion": "1.0", "id": "e1", "source": "/q", "type": "t"}
    queued = Invocation(
        request_id="r1", trigger="nats", alias="default", event=event, traceparent=ours
    )
    assert json.loads((await runtime.invoke(spec.key, queued)).body)["traceparent"] == ours


async def test_memory_limits_what_an_instance_may_allocate(runtime: ContainerRuntime) -> None:
    spec = container_spec(NODE, command=["node", "server.js"], memory="128Mi")
    await runtime.warm(spec)
    small = await runtime.invoke(spec.key, http("/alloc", query=b"mb=16"))
    assert (small.status, small.body) == (200, b"allocated 16 MiB")
    large = await runtime.invoke(spec.key, http("/alloc", query=b"mb=256"))
    assert large.status == 500
    assert b"RangeError" in large.body


async def test_an_answer_over_64_mib_is_a_502(runtime: ContainerRuntime) -> None:
    spec = container_spec(NODE, command=["node", "server.js"], memory="512Mi")
    await runtime.warm(spec)
    fits = await runtime.invoke(spec.key, http("/big", query=b"mb=64"))
    assert (fits.status, len(fits.body)) == (200, 64 * 2**20)
    with pytest.raises(InstanceLost) as info:
        await runtime.invoke(spec.key, http("/big", query=b"mb=65"))
    assert info.value.message == ("box@1#1: no usable answer: an answer larger than 64 MiB")


async def test_the_sandbox_hides_the_host(runtime: ContainerRuntime, tmp_path: Path) -> None:
    spec = container_spec(NODE, command=["node", "-e", _PROBE], readiness={"timeout": "10s"})
    await runtime.warm(spec)
    seen = json.loads((await runtime.invoke(spec.key, http("/"))).body)
    # /etc/shadow is masked (bound to /dev/null, which the instance may not even open)
    assert seen["shadow"] in ("", "EACCES")
    assert seen == {**seen, "home": False, "code_writable": False, "work": False}
    limits = {line[:26].strip(): line[26:].split()[:2] for line in seen["limits"].splitlines()}
    assert limits["Max data size"] == [str(256 * 2**20)] * 2  # memory's default, hard too
    assert limits["Max open files"] == ["1024", "1024"]
    assert limits["Max core file size"] == ["0", "0"]
    assert seen["env"] == ["HOME", "LANG", "PATH", "PORT", "PWD"]  # PWD from bwrap --chdir


# Serves what the instance can see of the host.
_PROBE = """
const fs = require("fs");
const writable = (p) => { try { fs.writeFileSync(p, "x"); return true } catch { return false } };
const read = (p) => { try { return fs.readFileSync(p, "utf8") } catch (e) { return e.code } };
require("http").createServer((q, s) => s.end(JSON.stringify({
  home: fs.existsSync("/root/.bashrc") || fs.existsSync(process.env.GAIA_HOME || "/nonexistent"),
  shadow: read("/etc/shadow"),
  code_writable: writable("/code/new-file"),
  work: fs.existsSync("/work"),
  limits: read("/proc/self/limits"),
  env: Object.keys(process.env).sort(),
}))).listen(Number(process.env.PORT), "127.0.0.1");
"""


async def test_concurrency_bounds_each_instance_and_the_pool_grows(
    runtime: ContainerRuntime,
) -> None:
    spec = container_spec(
        NODE, command=["node", "server.js"], concurrency=1, pool={"min": 1, "max": 3}
    )
    await runtime.warm(spec)
    results = await asyncio.gather(
        *(runtime.invoke(spec.key, http("/", query=b"sleep_ms=300")) for _ in range(3))
    )
    # one request per instance at a time: the queue made the pool grow to its max
    assert [json.loads(result.body)["peak"] for result in results] == [1, 1, 1]
    assert runtime.status()[0].instances == 3


async def test_a_crash_mid_request_is_a_502_naming_it_and_the_instance_is_replaced(
    runtime: ContainerRuntime, logs: Sink
) -> None:
    spec = container_spec(NODE, command=["node", "server.js"], pool={"min": 1, "max": 2})
    await runtime.warm(spec)
    first = json.loads((await runtime.invoke(spec.key, http("/"))).body)["instance"]
    with pytest.raises(InstanceLost) as info:
        await runtime.invoke(spec.key, http("/crash"))
    assert info.value.status == 502
    assert info.value.message == "box@1#1: instance exited with code 3 during the request"
    assert "crashing on purpose" in [record["line"] for record in logs.records]
    # a fresh instance takes its place: the next request is answered
    answer = await runtime.invoke(spec.key, http("/"))
    assert answer.status == 201
    assert json.loads(answer.body)["instance"] != first
    assert runtime.status()[0].ready == 1


async def test_a_request_past_the_timeout_is_a_504(runtime: ContainerRuntime) -> None:
    spec = container_spec(NODE, command=["node", "server.js"], timeout="300ms")
    await runtime.warm(spec)
    with pytest.raises(InvocationTimeout) as info:
        await runtime.invoke(spec.key, http("/", query=b"sleep_ms=3000"))
    assert (info.value.status, info.value.message) == (504, "box@1 did not answer within 0.3s")
    assert (await runtime.invoke(spec.key, http("/"))).status == 201


async def test_a_never_ready_instance_fails_the_warm_up_naming_the_deadline(
    runtime: ContainerRuntime,
) -> None:
    spec = container_spec(
        APPS / "never",
        command=["node", "server.js"],
        readiness={"path": "/healthz", "timeout": "1s"},
    )
    with pytest.raises(WarmupError) as info:
        await runtime.warm(spec)
    assert info.value.message == (
        "box@1#1: not ready within 1s (readiness.timeout): GET /healthz: answered 503"
    )
    assert runtime.status() == []


async def test_a_command_that_exits_fails_the_warm_up_with_its_last_words(
    runtime: ContainerRuntime,
) -> None:
    spec = container_spec(
        NODE, command=["node", "-e", "console.error('no port for me'); process.exit(7)"]
    )
    with pytest.raises(WarmupError) as info:
        await runtime.warm(spec)
    assert info.value.message == (
        "box@1#1: instance exited with code 7 before it was ready\n  no port for me"
    )


async def test_without_bubblewrap_the_warm_up_fails_naming_the_package(
    runtime: ContainerRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither bwrap nor prlimit on it
    with pytest.raises(WarmupError) as info:
        await runtime.warm(container_spec(NODE, command=["node", "server.js"]))
    assert info.value.message == (
        "box@1: the container runtime runs instances in bubblewrap under prlimit: install"
        " prlimit (Debian package util-linux), bwrap (Debian package bubblewrap)"
    )


async def test_a_missing_command_fails_the_warm_up(runtime: ContainerRuntime) -> None:
    spec = container_spec(NODE, command=["no-such-program"])
    with pytest.raises(WarmupError) as info:
        await runtime.warm(spec)
    assert info.value.message.startswith("box@1#1: instance exited with code 1 before it was ready")
    assert "no-such-program" in info.value.message
