from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime_adapters.base import RevisionSpec
from runtime_adapters.container.runtime import ContainerRuntime
from runtime_adapters.container.settings import ContainerSettings
from tests.runtime_adapters.python.conftest import Sink

APPS = Path(__file__).parent / "apps"


def require(*tools: str) -> None:
    """These tests run real programs; a missing one fails them, it never skips them
    (scripts/test installs them)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"not installed: {', '.join(missing)} (scripts/test installs them)")


def container_spec(
    bundle: Path, *, function: str = "box", revision: int = 1, **settings: object
) -> RevisionSpec:
    """A revision through the runtime's own settings model, as gaia.yaml makes one."""
    model = ContainerSettings.from_dict(settings)
    return model.spec(
        function=function, revision=revision, digest=f"{function}-{revision}", bundle_dir=bundle
    )


@pytest.fixture
def logs() -> Sink:
    return Sink()


@pytest.fixture
async def runtime(tmp_path: Path, logs: Sink) -> AsyncIterator[ContainerRuntime]:
    require("bwrap", "prlimit")
    rt = ContainerRuntime(tmp_path / "run", log_sink=logs, stop_grace_s=1.0)
    try:
        yield rt
    finally:
        await rt.aclose()
