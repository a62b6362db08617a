"""The probes' answers through the gateway's life, and the shutdown settings."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.lifecycle import Lifecycle
from gateway.settings import settings_from_env
from runtime_adapters.base import RevisionKey
from runtime_adapters.memory import MemoryRuntime

Parse = Callable[..., GaiaFile]


async def test_readiness_from_start_to_drain(
    control: ControlPlane, runtime: MemoryRuntime, gaia_file: Parse
) -> None:
    lifecycle = Lifecycle()
    assert lifecycle.readiness() == (
        503,
        {
            "status": "starting",
            "message": "loading the state and warming the pools behind routed aliases",
        },
    )
    await control.apply(
        gaia_file("functions:\n  fn:\n    code: ./fn\n", code={"fn": "def handler(e, c): pass"})
    )
    lifecycle.serving(control)
    assert lifecycle.readiness() == (200, {"status": "ready", "message": "serving"})
    # A routed revision whose pool is gone (stopped) is waited for.
    await runtime.retire(RevisionKey(function="fn", revision=1))
    assert lifecycle.readiness() == (
        503,
        {"status": "warming", "message": "waiting for fn@1 to warm"},
    )
    lifecycle.draining()
    assert lifecycle.readiness()[1]["status"] == "draining"


def test_shutdown_timeout_default_and_bounds() -> None:
    settings = settings_from_env({"GAIA_HOME": "/tmp/x"})
    assert settings.shutdown_timeout_s == 30.0  # Kubernetes' terminationGracePeriodSeconds
    assert settings.drain_s == 27.0  # the last 3 s stop the workers
    assert settings_from_env({"GAIA_HOME": "/x", "GAIA_SHUTDOWN_TIMEOUT": "1m"}).drain_s == 57.0
    with pytest.raises(ValueError, match=r"shutdown timeout: expected at least 4s"):
        settings_from_env({"GAIA_HOME": "/x", "GAIA_SHUTDOWN_TIMEOUT": "3s"})
