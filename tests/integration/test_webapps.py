"""Whole web apps as functions (`interface: asgi | wsgi`), side by side with the same
app on a bare reference server: a Starlette app on uvicorn, a Flask app and a plain
WSGI app on wsgiref. Generated requests (methods, encoded paths, repeated query keys and
headers, binary bodies) must get the same status, headers and body from both, but for
what a server adds itself (date, server; gaia's x-request-id and x-gaia-revision) and
how it frames a body whose length the app did not give (see `_comparable`).

An ASGI app's requests go straight to the app's own server in its worker (spliced); a
proxy's hop drops the client's hop-by-hop headers (Connection...) and frames the body
itself, its Content-Length after the other headers, so the headers the app saw are
compared without those and with the length last (see `_seen`)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import httpx
import pytest

from httpkit.headers import end_to_end
from tests.integration.harness import Gaia, free_port, spliced, wait_for

APPS = Path(__file__).parent / "webapps"
SERVER_ADDED = {"date", "server", "x-request-id", "x-gaia-revision", "connection"}
GAIA_YAML = """
functions:
  star:
    code: ./star
    interface: asgi
    handler: main:app
    triggers:
      - http: {path: "/star/{rest:path}"}
  flask:
    code: ./flask
    interface: wsgi
    handler: main:app
    triggers:
      - http: {path: "/flask/{rest:path}"}
  plain:
    code: ./plain
    interface: wsgi
    handler: main:app
    triggers:
      - http: {path: "/plain/{rest:path}"}
"""


def _code(tmp: Path, name: str, source: str, requirement: str | None) -> None:
    code = tmp / name
    code.mkdir()
    (code / "main.py").write_text((APPS / source / "main.py").read_text())
    if requirement:
        # The version the reference server runs here, installed into the revision.
        version = importlib.metadata.version(requirement)
        (code / "requirements.txt").write_text(f"{requirement}=={version}\n")


@pytest.fixture(scope="module")
def gaia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gaia]:
    tmp = tmp_path_factory.mktemp("webapps")
    _code(tmp, "star", "starlette_app", "starlette")
    _code(tmp, "flask", "flask_app", "flask")
    _code(tmp, "plain", "plain_wsgi", None)
    (tmp / "gaia.yaml").write_text(GAIA_YAML)
    server = Gaia(tmp / "home")
    try:
        server.start("-f", str(tmp / "gaia.yaml"), wait=False)
        # The first start installs Starlette and Flask into the revisions with pip.
        server.wait_ready(timeout=240)
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def uvicorn_url() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            *(
                sys.executable,
                "-m",
                "uvicorn",
                "main:app",
                "--app-dir",
                str(APPS / "starlette_app"),
            ),
            *("--port", str(port), "--no-access-log", "--log-level", "warning"),
        ]
    )
    url = f"http://127.0.0.1:{port}"

    def serving() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"uvicorn exited with {process.returncode}")
        return httpx.get(f"{url}/star/up", timeout=2).status_code == 200

    try:
        wait_for(serving, what="bare uvicorn")
        yield url
    finally:
        process.kill()
        process.wait()


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _module(source: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"webapp_{source}", APPS / source / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def wsgiref_urls() -> Iterator[dict[str, str]]:
    servers: list[WSGIServer] = []
    urls = {}
    for prefix, source in (("flask", "flask_app"), ("plain", "plain_wsgi")):
        server = make_server("127.0.0.1", 0, _module(source).app, handler_class=_Quiet)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls[prefix] = f"http://127.0.0.1:{server.server_port}"
    yield urls
    for server in servers:
        server.shutdown()
        server.server_close()


SEGMENTS = [
    "a",
    "b c",
    "%20",
    "%2F",
    "%C3%A9",
    "%25",
    "~x",
    "a+b",
    ";p=1",
    ":@",
    "%E2%82%AC",
    "x.y",
]
QUERY = ["tag=b", "tag=a", "q=%26%3D", "e=", "plus=a+b", "u=%C3%A9", "flag", "tag=c"]


def requests(prefix: str, methods: list[str], count: int, seed: int) -> Iterator[httpx.Request]:
    rng = random.Random(seed)
    for _ in range(count):
        path = "/".join(rng.choice(SEGMENTS) for _ in range(rng.randint(1, 4)))
        query = "&".join(rng.choice(QUERY) for _ in range(rng.randint(0, 5)))
        method = rng.choice(methods)
        headers = [
            (b"host", b"example.test"),
            # wsgiref says text/plain where a request has no content type: always send one.
            (
                b"content-type",
                rng.choice([b"application/octet-stream", b"text/plain; charset=utf-8"]),
            ),
        ]
        for _ in range(rng.randint(0, 4)):
            name = rng.choice([b"x-multi", b"accept", b"x-trace-id", b"accept-language"])
            headers.append((name, rng.choice([b"a", b"b, c", b"\xe9t\xe9", b"*/*", b"1;q=0.5"])))
        if rng.random() < 0.3:
            headers.append((b"cookie", b"session=abc; theme=dark"))
        body = rng.randbytes(rng.randint(0, 2048)) if method in ("POST", "PUT", "PATCH") else b""
        url = f"/{prefix}/{path}" + (f"?{query}" if query else "")
        yield httpx.Request(method, url, headers=headers, content=body)


def _send(base: str, request: httpx.Request) -> httpx.Response:
    with httpx.Client(base_url=base, timeout=30) as client:
        copy = client.build_request(
            request.method,
            request.url.raw_path.decode("ascii"),
            headers=request.headers.raw,
            content=request.content,
        )
        return client.send(copy)


def _comparable(
    response: httpx.Response, *, reference: bool
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers in order (names lower-case) and body. A body whose length the app
    did not give is framed by the reference server itself (chunked, or the end of the
    connection), and by gaia so too when it relays the answer (spliced), or by its
    content-length when it has the whole body (invoked): that header must then be the
    body's length, and is left out of the comparison."""
    headers = [(n.decode("latin-1").lower(), v.decode("latin-1")) for n, v in response.headers.raw]
    headers = [(n, v) for n, v in headers if n not in SERVER_ADDED]
    framed = any(n == "transfer-encoding" for n, _ in headers) or not any(
        n == "content-length" for n, _ in headers
    )
    if reference and framed:
        headers = [(n, v) for n, v in headers if n != "transfer-encoding"]
    return response.status_code, headers, response.content


def _seen(
    answer: tuple[int, list[tuple[str, str]], bytes],
) -> tuple[int, list[tuple[str, str]], bytes]:
    """An echo's answer with the request headers it shows as a hop passes them on: the
    end-to-end ones, Content-Length last; its own content-length then left out (the
    body's length, checked by `assert_same`)."""
    status, headers, body = answer
    try:
        seen = json.loads(body)
    except ValueError:
        return answer
    if not isinstance(seen, dict) or "headers" not in seen:
        return answer
    raw = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in seen["headers"]]
    kept = end_to_end(raw, also_drop=frozenset({b"content-length"}))
    kept += [(n, v) for n, v in raw if n == b"content-length"]
    seen["headers"] = [[n.decode("latin-1"), v.decode("latin-1")] for n, v in kept]
    headers = [(n, v) for n, v in headers if n != "content-length"]
    return status, headers, json.dumps(seen, sort_keys=True).encode()


def _unlengthed(
    answer: tuple[int, list[tuple[str, str]], bytes],
) -> tuple[int, list[tuple[str, str]], bytes]:
    status, headers, body = answer
    return status, [(n, v) for n, v in headers if n != "content-length"], body


def assert_same(gaia_url: str, reference_url: str, request: httpx.Request) -> httpx.Response:
    theirs, ours = _send(reference_url, request), _send(gaia_url, request)
    want = _comparable(theirs, reference=True)
    # Invoked, gaia has the whole body and gives its length; spliced, it relays the
    # answer as it comes, framed as the reference frames it.
    got = _comparable(ours, reference=True)
    has_body = request.method != "HEAD" and theirs.status_code not in (204, 304)
    if has_body:
        assert ours.headers.get("content-length") in (None, str(len(ours.content)))
    if has_body and not any(n == "content-length" for n, _ in want[1]):
        lengths = [v for n, v in got[1] if n == "content-length"]
        assert lengths in ([], [str(len(ours.content))]), request
        got = (got[0], [(n, v) for n, v in got[1] if n != "content-length"], got[2])
    want, got = _seen(want), _seen(got)
    if request.method == "HEAD":
        # The length of the echo its GET would give, which shows the request headers
        # the app saw: those are compared on the other methods, as `_seen` says.
        want, got = _unlengthed(want), _unlengthed(got)
    if got != want and got[2].startswith(b"{"):
        a, b = json.loads(got[2]), json.loads(want[2])
        print({k: (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)})
    assert got == want, f"{request.method} {request.url}"
    return ours


def test_a_starlette_app_answers_as_on_bare_uvicorn(gaia: Gaia, uvicorn_url: str) -> None:
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    before = spliced(gaia)
    for request in requests("star", methods, 60, seed=1):
        assert_same(gaia.url, uvicorn_url, request)
    assert spliced(gaia) - before == 60  # each passed straight to the app's own server
    answer = _send(gaia.url, httpx.Request("GET", "/star/shop/a%2Fb?status=418"))
    seen = answer.json()
    # The route's prefix is not stripped: the app sees the path as the client sent it.
    assert (seen["path"], seen["raw_path"], seen["root_path"]) == (
        "/star/shop/a/b",
        "/star/shop/a%2Fb",
        "",
    )
    assert answer.status_code == 418 and seen["started"] == "by lifespan"
    # The app's own 500 is its answer, passed as it is (not gaia's function error).
    # No content-length on a 204, as from bare uvicorn (RFC 9110 8.6).
    empty = assert_same(gaia.url, uvicorn_url, httpx.Request("DELETE", "/star/empty"))
    assert empty.status_code == 204 and "content-length" not in empty.headers
    failing = httpx.Request("PUT", "/star/x?status=500", headers={"host": "a.test"}, content=b"1")
    assert assert_same(gaia.url, uvicorn_url, failing).status_code == 500
    assert answer.headers.get_list("set-cookie") == [
        "a=1; Path=/; SameSite=lax",
        "b=2; Path=/star; SameSite=lax",
    ]


def test_a_flask_app_answers_as_on_wsgiref(gaia: Gaia, wsgiref_urls: dict[str, str]) -> None:
    methods = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
    for request in requests("flask", methods, 60, seed=2):
        assert_same(gaia.url, wsgiref_urls["flask"], request)
    seen = _send(gaia.url, httpx.Request("GET", "/flask/a%2Fb")).json()
    assert (seen["path"], seen["script_root"], seen["rest"]) == ("/flask/a/b", "", "a/b")


def test_a_plain_wsgi_app_answers_as_on_wsgiref(gaia: Gaia, wsgiref_urls: dict[str, str]) -> None:
    for request in requests("plain", ["GET", "POST", "PUT", "DELETE"], 60, seed=3):
        answer = assert_same(gaia.url, wsgiref_urls["plain"], request)
        assert answer.status_code == 202


def test_streamed_and_large_bodies_arrive_whole(gaia: Gaia, uvicorn_url: str) -> None:
    stream = assert_same(gaia.url, uvicorn_url, httpx.Request("GET", "/star/stream"))
    assert stream.text == "".join(f"chunk {n}\n" for n in range(5))
    upload = random.Random(4).randbytes(9 * 1024 * 1024)  # under the 10 MiB body limit
    echoed = assert_same(
        gaia.url, uvicorn_url, httpx.Request("POST", "/star/upload", content=upload)
    )
    assert echoed.content == upload
    big = assert_same(gaia.url, uvicorn_url, httpx.Request("GET", "/star/big?n=41943040"))
    assert len(big.content) == 40 * 1024 * 1024
