"""What the CLI tells a user, run as the real `gaia` against a real gateway: invoke's
revision, status and time, errors as `gaia:` lines with the admin API's snake_case codes,
deploy's stages in one column, status's alias ages, and uvicorn's lines per listener."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from tests.integration.functions import VERSIONED
from tests.integration.harness import GaiaFactory, wait_for, write_function

SUMMARY = re.compile(r"(\S+)  (\d{3} [A-Za-z ]+)  (\d+\.\d) ms  request (admin-\w+)\n")


def test_invoke_status_deploy_and_errors_say_what_happened(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start()
    code = write_function(tmp_path / "greet", VERSIONED.replace("{version}", "v1"))
    deployed = gaia.cli("deploy", "greet", "--code", str(code))
    assert deployed.returncode == 0, deployed.stderr
    stages = deployed.stdout.splitlines()[:4]
    assert [line.split()[0] for line in stages] == ["package", "store", "warm", "ready"]
    assert all(re.fullmatch(r"\w+ +\d+\.\d ms", line) for line in stages), stages
    assert len({line.index(" ms") for line in stages}) == 1  # one column of times

    # The body alone on stdout; what served it on stderr.
    served = gaia.cli("invoke", "greet")
    assert (served.returncode, served.stdout) == (0, "v1\n")
    match = SUMMARY.fullmatch(served.stderr)
    assert match is not None, served.stderr
    assert match.group(1, 2) == ("greet@1", "200 OK")
    verbose = gaia.cli("invoke", "greet", "-v")
    assert verbose.stdout == "v1\n"
    assert "< x-gaia-revision: greet@1\n" in verbose.stderr
    assert re.search(r"^< content-type: text/plain", verbose.stderr, re.M)
    as_json = json.loads(gaia.cli("invoke", "greet", "-o", "json").stdout)
    assert (as_json["status"], as_json["revision"], as_json["body"]) == (200, "greet@1", "v1")
    assert as_json["duration_ms"] > 0 and as_json["error"] is None
    assert as_json["request_id"] == as_json["headers"]["x-request-id"]

    missing = gaia.cli("invoke", "nope")
    assert (missing.returncode, missing.stdout) == (1, "")
    assert re.fullmatch(
        r"gaia: function 'nope' does not exist \(404 Not Found, not_found, request admin-\w+\)\n",
        missing.stderr,
    ), missing.stderr
    missing_json = gaia.cli("invoke", "nope", "-o", "json")
    assert missing_json.returncode == 1
    assert json.loads(missing_json.stdout)["error"]["error"] == "not_found"

    # A function that raises: function_error, as the data plane names it.
    crash = write_function(tmp_path / "crash", "def handler(e, c):\n    raise ValueError('no')\n")
    assert gaia.cli("deploy", "crash", "--code", str(crash)).returncode == 0
    failed = gaia.cli("invoke", "crash")
    assert (failed.returncode, failed.stdout) == (1, "")
    assert re.fullmatch(
        r"gaia: crash@1: ValueError: no \(500 Internal Server Error, function_error,"
        r" request admin-\w+\)\n",
        failed.stderr,
    ), failed.stderr

    with gaia.admin() as admin:
        assert admin.get("/v1/functions/nope").json()["error"] == "not_found"
        assert admin.get("/v1/nowhere").json()["error"] == "not_found"
        assert admin.delete("/v1/status").json()["error"] == "method_not_allowed"
        assert admin.put("/v1/functions/greet/aliases/prod", content=b"{").json()["error"] == (
            "invalid_input"
        )

    # status: an alias row is as old as its last change, not as its function.
    with gaia.admin() as admin:
        created = admin.get("/v1/functions/greet").json()["created_at"]
    wait_for(lambda: time.time() - created >= 3, what="greet to be 3s old")
    assert gaia.cli("alias", "set", "greet:prod", "1=100").returncode == 0
    with gaia.admin() as admin:
        changed = admin.get("/v1/functions/greet/aliases/prod").json()["updated_at"]
    before = time.time()
    status = gaia.cli("status")
    after = time.time()
    row = next(line.split() for line in status.stdout.splitlines() if "greet:prod" in line)
    shown = int(row[-1].removesuffix("s"))
    assert int(before - changed) <= shown <= int(after - changed), (row, before - changed)
    assert shown < int(before - created)  # the function is 3s older than the change
    listed = json.loads(gaia.cli("status", "-o", "json").stdout)
    assert changed in [a["updated_at"] for f in listed["functions"] for a in f["aliases"]]

    assert gaia.stop() == 0
    logs = list(gaia.json_logs())
    uvicorn = [entry for entry in logs if entry["logger"] == "uvicorn.error"]
    started = [e for e in uvicorn if str(e["message"]).startswith("Started server process")]
    assert len(started) == 1
    shutting = [e.get("listener") for e in uvicorn if e["message"] == "Shutting down"]
    assert sorted(map(str, shutting)) == ["admin", "data_plane"]
