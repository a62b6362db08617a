"""HTTP triggers of functions whose instances serve HTTP themselves are spliced
(triggers/http/splice.py): the request goes straight to the instance, with no ASGI cycle,
and the client cannot tell. A real gateway before a real instance process
(tests/triggers/http/upstream_app.py) as a `runtime: url` function; the oracle is the
ASGI path itself, which a request carrying a `traceparent` still takes: each generated
request is sent both ways and the answers compared (framing, Date and the request id
aside), and `gateway_http_spliced_total` tells which way each went."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.harness import Gaia, GaiaFactory, free_port, spliced, wait_for
from tests.runtime_adapters.url.conftest import _accepts

APP = Path(__file__).parents[1] / "triggers" / "http" / "upstream_app.py"
# A sampled trace: the ASGI path's, as every traced request is.
TRACED = {"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}
# What legitimately differs between two answers to the same request.
_UNCOMPARED = {"date", "x-request-id", "traceparent", "content-length", "transfer-encoding"}


@pytest.fixture
def instance() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = subprocess.Popen([sys.executable, str(APP), str(port)])
    try:
        wait_for(lambda: _accepts(port), timeout=10, what=f"the instance on {port}")
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.kill()
        process.wait()


def _start(tmp_path: Path, gaia_factory: GaiaFactory, url: str) -> Gaia:
    path = tmp_path / "gaia.yaml"
    path.write_text(
        f"""
functions:
  inst:
    runtime: url
    urls: [{url}]
    health: {{path: /healthz, interval: 10s}}
    outlier: {{consecutive_failures: 1000, cooldown: 1s}}
    timeout: 1s
    concurrency: 16
    triggers:
      - http: {{path: "/t/{{rest:path}}", methods: [GET, POST, PUT, DELETE, PATCH]}}
      - http: {{path: /limited, rate_limit: {{rps: 0.01, burst: 2}}}}
"""
    )
    return gaia_factory().start("-f", str(path))


def _case(rng: random.Random) -> tuple[str, str, dict[str, str], bytes]:
    method = rng.choice(["GET", "POST", "PUT", "DELETE", "PATCH"])
    segments = rng.choices(["a", "b%2Fc", "%C3%A9t%C3%A9", "x%20y", "1", "~z"], k=rng.randint(1, 4))
    query = [f"status={rng.choice([200, 201, 404, 418, 500, 503])}"]
    query += [f"header=x-up-{n}:{rng.randint(0, 99)}" for n in range(rng.randint(0, 3))]
    if rng.random() < 0.3:
        query += ["header=set-cookie:a=1", "header=set-cookie:b=2"]
    query.append(f"pad={rng.choice([0, 7, 3000, 70000])}")
    if rng.random() < 0.4:
        query.append("chunked=1")
    headers = {f"x-h-{n}": f"v{rng.randint(0, 9)}" for n in range(rng.randint(0, 4))}
    body = b""
    if method != "GET" and rng.random() < 0.8:
        body = bytes(rng.choice(b"abcdef ") for _ in range(rng.choice([1, 100, 5000, 200_000])))
    return method, "/t/" + "/".join(segments) + "?" + "&".join(query), headers, body


def _compared(response: httpx.Response) -> dict[str, Any]:
    headers = [(k, v) for k, v in response.headers.multi_items() if k not in _UNCOMPARED]
    try:
        end = response.content.rindex(b"}") + 1
        seen = json.loads(response.content[:end])
    except ValueError:
        return {"status": response.status_code, "headers": headers, "body": response.content}
    # The instance saw the same request but for the trace it was told to join.
    seen["headers"] = [h for h in seen["headers"] if h[0] != "traceparent"]
    return {
        "status": response.status_code,
        "headers": headers,
        "seen": seen,
        "padding": response.content[end:],
    }


def test_generated_requests_are_spliced_and_answered_as_the_asgi_path_answers_them(
    tmp_path: Path, gaia_factory: GaiaFactory, instance: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, process = instance
    gaia = _start(tmp_path, gaia_factory, url)
    rng = random.Random(14)
    cases = [_case(rng) for _ in range(40)]
    before = spliced(gaia)
    with gaia.data() as http:
        for method, target, headers, body in cases:
            passed = http.request(method, target, headers=headers, content=body)
            http.cookies.clear()  # the same request both ways, no cookie from the first
            asgi = http.request(method, target, headers={**headers, **TRACED}, content=body)
            http.cookies.clear()
            assert _compared(passed) == _compared(asgi), (method, target)
            assert passed.headers["x-gaia-revision"] == "inst@1"
            assert "traceparent" not in passed.headers  # untraced: no trace to carry
        assert spliced(gaia) - before == len(cases)  # exactly the untraced ones

        # the access line of a spliced request is that of an ASGI one
        last = passed.headers["x-request-id"], asgi.headers["x-request-id"]

        def lines() -> list[dict[str, object]] | None:
            found = {e.get("request_id"): e for e in gaia.json_logs() if "status" in e}
            return [found[rid] for rid in last] if all(rid in found for rid in last) else None

        one, other = wait_for(lines, what="both access lines")
        assert one.keys() == other.keys()
        assert {k: v for k, v in one.items() if k not in ("time", "request_id", "duration_ms")} == {
            k: v for k, v in other.items() if k not in ("time", "request_id", "duration_ms")
        }
        assert one["function"] == "inst" and one["route"] == "/t/{rest:path}"

        # a rate limit with room lets a request be spliced; its refusal is the ASGI path's
        before = spliced(gaia)
        assert [http.get("/limited").status_code for _ in range(3)][:2] == [200, 200]
        refused = http.get("/limited")
        assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
        assert spliced(gaia) - before == 2

        # a chunked body and one over the body limit are the invoked path's: read whole,
        # the one over the limit refused with 413 before the instance sees it
        before = spliced(gaia)
        assert http.post("/t/chunked", content=iter([b"ab", b"cd"])).status_code == 200
        too_big = http.post("/t/big", content=b"x" * (10 * 1024 * 1024 + 1))
        assert too_big.status_code == 413
        assert spliced(gaia) == before

        # an instance too slow: the same 504, naming the timeout, either way
        slow = http.get("/t/slow?sleep_ms=3000")
        slow_asgi = http.get("/t/slow?sleep_ms=3000", headers=TRACED)
        assert (slow.status_code, slow_asgi.status_code) == (504, 504)
        assert slow.json()["message"] == slow_asgi.json()["message"]
        assert slow.json()["message"] == f"inst@1: {url} did not answer within 1s"
        assert slow.headers["x-gaia-revision"] == "inst@1"

        # an answer that keeps coming, each piece within the timeout, the whole past it:
        # the timeout bounds the whole answer on both paths (spliced, its head was sent)
        started = time.monotonic()
        with pytest.raises(httpx.RemoteProtocolError):
            http.get("/t/drip?drip_ms=300")
        assert time.monotonic() - started < 2.5  # ten pieces would take 3 s
        dripped = http.get("/t/drip?drip_ms=300", headers=TRACED)
        assert dripped.status_code == 504
        assert dripped.json()["message"] == f"inst@1: {url} did not answer within 1s"

        # an instance gone: the same 502, naming why, either way
        process.kill()
        process.wait()
        gone = http.get("/t/gone")
        gone_asgi = http.get("/t/gone", headers=TRACED)
        assert (gone.status_code, gone.json()["error"]) == (502, "instance_lost")
        assert gone.json()["message"] == gone_asgi.json()["message"]
        assert gone.json()["request_id"] == gone.headers["x-request-id"]
