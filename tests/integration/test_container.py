"""Container functions end to end: a real gateway with HTTP triggers in front of a
Node.js server and of busybox httpd from an image built in the test."""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from tests.integration.harness import GaiaFactory, spliced
from tests.runtime_adapters.container.conftest import APPS, require
from tests.runtime_adapters.container.images import INDEX, Podman

IMAGE = "localhost/gaia-it/busybox:1"


def _config(tmp_path: Path) -> Path:
    require("node", "bwrap", "prlimit")
    shutil.copytree(APPS / "node", tmp_path / "node")
    with Podman(tmp_path / "podman") as podman:
        podman.build(IMAGE)
        podman.save(IMAGE, "oci-archive", tmp_path / "box")
    path = tmp_path / "gaia.yaml"
    path.write_text(
        """
functions:
  node:
    runtime: container
    code: ./node
    command: [node, server.js]
    readiness: /healthz
    env: {GREETING: hello}
    timeout: 2s
    concurrency: 1
    pool: {min: 1, max: 2}
    triggers:
      - http: {path: "/node/{rest:path}", methods: [GET, POST]}
  box:
    runtime: container
    code: ./box
    image: oci-archive:image.tar
    triggers:
      - http: {path: /index.html}
      - http: {path: /cgi-bin/env}
"""
    )
    return path


def test_container_functions_serve_fail_by_name_and_recover(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start("-f", str(_config(tmp_path)))
    with gaia.data() as http:
        echo = http.post("/node/echo?x=1", content=b"ping", headers={"x-test": "it"})
        assert echo.status_code == 201, echo.text
        assert echo.headers["x-gaia-revision"] == "node@1"
        seen = echo.json()
        assert (seen["method"], seen["path"], seen["query"]) == ("POST", "/node/echo", "?x=1")
        assert (seen["header"], seen["body"], seen["greeting"]) == ("it", "ping", "hello")
        assert seen["host"] == gaia.url.removeprefix("http://")  # the client's Host
        # the instance's own Date gives way to the gateway's
        assert echo.headers.get_list("date") != ["Thu, 01 Jan 1970 00:00:00 GMT"]
        assert len(echo.headers.get_list("date")) == 1

        before = spliced(gaia)
        crash = http.get("/node/crash")
        assert spliced(gaia) - before == 1  # passed straight to the instance (no ASGI cycle)
        assert crash.status_code == 502
        assert crash.json()["error"] == "instance_lost"
        assert crash.json()["message"] == (
            "node@1#1: instance exited with code 3 during the request"
        )
        again = http.get("/node/echo")
        assert again.status_code == 201
        assert again.json()["instance"] != seen["instance"]  # a new instance took its place

        before = spliced(gaia)
        slow = http.get("/node/echo?sleep_ms=5000")
        assert spliced(gaia) - before == 1
        assert slow.status_code == 504
        assert slow.json() == {**slow.json(), "error": "timeout"}
        assert slow.json()["message"] == "node@1 did not answer within 2s"

        page = http.get("/index.html")
        assert (page.status_code, page.content) == (200, INDEX)
        assert http.get("/cgi-bin/env").text.strip() == "greeting=from-image code=image.tar"
    [said] = [record for record in gaia.json_logs() if record.get("line") == "crashing on purpose"]
    assert said == {
        "time": said["time"],
        "level": "error",
        "instance": "1",
        "function": "node",
        "revision": 1,
        "stream": "stderr",
        "line": "crashing on purpose",
    }
    assert datetime.fromisoformat(str(said["time"])).utcoffset() == timedelta(0)
    # the image is unpacked under GAIA_HOME, named by its manifest digest
    [cached] = (gaia.home / "run" / "images").iterdir()
    assert len(cached.name) == 64 and (cached / "rootfs" / "www" / "index.html").is_file()


def test_a_never_ready_container_fails_its_apply_naming_the_deadline(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    require("node", "bwrap", "prlimit")
    shutil.copytree(APPS / "never", tmp_path / "never")
    path = tmp_path / "gaia.yaml"
    path.write_text(
        """
functions:
  never:
    runtime: container
    code: ./never
    command: [node, server.js]
    readiness: {path: /healthz, timeout: 1s}
    triggers:
      - http: {path: /never}
"""
    )
    gaia = gaia_factory().start()
    result = gaia.cli("apply", "-f", str(path))
    assert result.returncode != 0
    assert "never@1#1: not ready within 1s (readiness.timeout): GET /healthz: answered 503" in (
        result.stderr + result.stdout
    )
    with gaia.data() as http:
        assert http.get("/never").status_code == 404
