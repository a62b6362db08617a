"""Worker processes: crashes, limits and the sandbox, seen from outside the gateway."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
from pathlib import Path

import pytest

from tests.integration.functions import BEHAVIOURS
from tests.integration.harness import Gaia, GaiaFactory, write_function


def _start(tmp_path: Path, gaia_factory: GaiaFactory, **env: str) -> Gaia:
    write_function(tmp_path / "act", BEHAVIOURS)
    config = tmp_path / "gaia.yaml"
    config.write_text(
        """
functions:
  act:
    code: ./act
    memory: 128Mi
    timeout: 20s
    env: {GREETING: hi}
    concurrency: 1  # one invocation per worker: the crash test needs them apart
    pool: {min: 2, max: 4}
    triggers:
      - http: {path: "/act/{action}"}
"""
    )
    return gaia_factory(extra_env=env).start("-f", str(config))


@pytest.mark.parametrize(("action", "reason"), [("exit", "code 3"), ("kill", "SIGKILL")])
def test_a_dying_worker_fails_only_its_own_invocations(
    tmp_path: Path, gaia_factory: GaiaFactory, action: str, reason: str
) -> None:
    gaia = _start(tmp_path, gaia_factory)
    with gaia.data() as http, concurrent.futures.ThreadPoolExecutor(2) as pool:
        slow = pool.submit(http.get, "/act/sleep", params={"s": "1.5"})
        dying = http.get(f"/act/{action}")
        assert dying.status_code == 502
        assert reason in dying.json()["message"]
        # The other instance's invocation was not touched by the crash.
        assert slow.result().status_code == 200
        assert http.get("/act/ok").text == "ok"
    assert gaia.process is not None and gaia.process.poll() is None


def test_memory_limit_ends_the_worker_not_the_gateway(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = _start(tmp_path, gaia_factory)
    with gaia.data() as http:
        hog = http.get("/act/hog")
        assert hog.status_code == 502
        assert "memory limit" in hog.json()["message"]
        assert http.get("/act/ok").text == "ok"


def test_sandbox_hides_the_gateway(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    if shutil.which("bwrap") is None and os.environ.get("CI") != "true":
        pytest.skip("bubblewrap is not installed (CI installs it and runs this test)")
    gaia = _start(tmp_path, gaia_factory, GAIA_TEST_SECRET="gateway-only")
    with gaia.data() as http:
        seen = http.get("/act/sandbox", params={"home": str(gaia.home)}).json()
    assert seen["sees_home"] is False
    assert seen["env_leak"] is None
    assert seen["can_write_code"] is False
    assert seen["pid"] < 10  # its own pid namespace
