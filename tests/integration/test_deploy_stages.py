"""`gaia deploy` shows the gateway's stages as each ends, not all at once with its answer:
the publish endpoint streams them as NDJSON to a client that asks for it, and answers as
before (one JSON object, 201 or 200, or an error body) to any other client."""

from __future__ import annotations

import base64
import json
import queue
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from gateway import bundles
from tests.integration.harness import GAIA, Gaia, GaiaFactory, write_function

# Its import waits until the test lets it go: a warm-up that lasts as long as the test
# needs to see which lines `gaia deploy` printed before it. Once the gate is gone (the
# test has closed it), later imports do not wait.
GATED = """
import socket

try:
    with socket.create_connection(("127.0.0.1", {port}), timeout=5) as gate:
        gate.settimeout(60)
        gate.recv(1)
except OSError:
    pass

def handler(event, context):
    return "through the gate"
"""
REQUIREMENTS = ("requirements.txt", "six==1.16.0\n")
DEADLINE_S = 60.0


class Lines:
    """The lines a process prints, each with the monotonic time it was read at."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self._queue: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self.read: list[tuple[float, str]] = []
        assert process.stdout is not None
        stdout = process.stdout

        def pump() -> None:
            for line in stdout:
                self._queue.put((time.monotonic(), line.rstrip("\n")))
            self._queue.put(None)

        threading.Thread(target=pump, daemon=True).start()

    def until(self, first_word: str | None) -> tuple[float, str]:
        """Read until a line starting with `first_word` (None: the end of the output);
        fail at the deadline, or at the end when a line was expected."""
        deadline = time.monotonic() + DEADLINE_S
        while True:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no {first_word!r} line in {DEADLINE_S}s: {self.read}"
                ) from None
            if item is None:
                if first_word is None:
                    return time.monotonic(), ""
                raise AssertionError(f"output ended before a {first_word!r} line: {self.read}")
            self.read.append(item)
            if item[1].split(" ", 1)[0] == first_word:
                return item

    def words(self) -> list[str]:
        return [line.split(" ", 1)[0] for _, line in self.read]


def _gate() -> socket.socket:
    gate = socket.socket()
    gate.bind(("127.0.0.1", 0))
    gate.listen()
    gate.settimeout(DEADLINE_S)
    return gate


def test_deploy_prints_each_gateway_stage_when_it_ends(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start()
    gate = _gate()
    code = write_function(
        tmp_path / "slow",
        GATED.replace("{port}", str(gate.getsockname()[1])),
        files=[REQUIREMENTS],
    )
    deploy = subprocess.Popen(
        [*GAIA, "deploy", "slow", "--code", str(code)],
        env=gaia.env,
        cwd=gaia.home.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = Lines(deploy)
        dependencies_at, _ = lines.until("dependencies")
        store_at, _ = lines.until("store")
        # The warm-up is now held at the gate: ready cannot have happened yet.
        worker, _ = gate.accept()
        assert deploy.poll() is None
        assert lines.words() == ["package", "dependencies", "store"]
        released_at = time.monotonic()
        worker.sendall(b"go")
        worker.close()
        gate.close()
        ready_at, _ = lines.until("ready")
        lines.until(None)
        assert deploy.wait(DEADLINE_S) == 0, deploy.stderr.read() if deploy.stderr else ""
    finally:
        if deploy.poll() is None:
            deploy.kill()
            deploy.wait()
    assert dependencies_at < store_at < released_at < ready_at
    assert lines.words()[:5] == ["package", "dependencies", "store", "warm", "ready"]
    assert "created slow@1" in "\n".join(line for _, line in lines.read)
    invoked = gaia.cli("invoke", "slow")
    assert (invoked.returncode, invoked.stdout) == (0, "through the gate\n"), invoked.stderr


def _publish_body(code: Path) -> dict[str, object]:
    return {"code": base64.b64encode(bundles.pack(code)).decode(), "config": {}}


def _stream(gaia: Gaia, function: str, body: dict[str, object]) -> list[dict[str, Any]]:
    with gaia.admin() as admin:
        response = admin.post(
            f"/v1/functions/{function}/revisions",
            json=body,
            headers={"accept": "application/x-ndjson"},
        )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-ndjson"
    return [json.loads(line) for line in response.text.splitlines()]


def test_publish_streams_stages_then_its_usual_answer_or_error(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start()
    code = write_function(tmp_path / "fn", "def handler(e, c):\n    return 'one'\n")
    lines = _stream(gaia, "fn", _publish_body(code))
    stages, answer = lines[:-1], lines[-1]
    assert [line["stage"] for line in stages] == ["store", "warm", "ready"]
    assert all(set(line) == {"stage", "ms"} and line["ms"] >= 0 for line in stages)
    assert (answer["name"], answer["created"], answer["revision"]) == ("fn@1", True, 1)
    assert answer["timings_ms"] == {line["stage"]: line["ms"] for line in stages}

    # Without the Accept header, the same publish answers as it always has.
    with gaia.admin() as admin:
        again = admin.post("/v1/functions/fn/revisions", json=_publish_body(code))
    assert again.status_code == 200 and again.headers["content-type"] == "application/json"
    assert {k: v for k, v in again.json().items() if k != "timings_ms"} == {
        **{k: v for k, v in answer.items() if k != "timings_ms"},
        "created": False,
    }

    (code / "main.py").write_text("def handler(e, c):\n    return 'two'\n")
    with gaia.admin() as admin:
        new = admin.post("/v1/functions/fn/revisions", json=_publish_body(code))
    assert (new.status_code, new.json()["name"], new.json()["created"]) == (201, "fn@2", True)

    # A warm-up that fails: the stream ends with the body a plain request's error has.
    (code / "main.py").write_text("raise RuntimeError('no start')\ndef handler(e, c):\n    pass\n")
    streamed_error = _stream(gaia, "fn", _publish_body(code))[-1]
    with gaia.admin() as admin:
        plain = admin.post("/v1/functions/fn/revisions", json=_publish_body(code))
    assert plain.status_code == 422, plain.text
    assert streamed_error["error"] == "publish_failed"
    assert streamed_error["request_id"] != plain.json()["request_id"]
    assert {k: v for k, v in streamed_error.items() if k != "request_id"} == {
        k: v for k, v in plain.json().items() if k != "request_id"
    }
    # A request refused before anything starts is refused as without the stream.
    with gaia.admin() as admin:
        refused = admin.post(
            "/v1/functions/fn/revisions",
            json={"code": "not base64!", "config": {}},
            headers={"accept": "application/x-ndjson"},
        )
    assert refused.status_code == 422 and refused.json()["field"] == "code"
    revisions = json.loads(gaia.cli("revisions", "fn", "-o", "json").stdout)
    assert [r["revision"] for r in revisions] == [1, 2]
