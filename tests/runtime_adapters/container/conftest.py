from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from runtime_adapters.base import HttpRequest, Invocation, RevisionSpec
from runtime_adapters.container.runtime import ContainerRuntime
from runtime_adapters.container.settings import ContainerSettings
from runtime_adapters.python.logs import LogRecord

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


def http(path: str = "/", *, query: bytes = b"", body: bytes = b"", method: str = "GET",
         headers: list[tuple[bytes, bytes]] | None = None) -> Invocation:  # fmt: skip
    return Invocation(
        request_id="r1",
        trigger="http",
        alias="default",
        event=HttpRequest(
            method=method,
            path=path,
            query_string=query,
            headers=headers or [],
            params={},
            body=body,
        ),
    )


class Logs:
    def __init__(self) -> None:
        self.records: list[LogRecord] = []

    def __call__(self, record: LogRecord) -> None:
        self.records.append(record)

    def lines(self) -> list[object]:
        return [record["line"] for record in self.records]


@pytest.fixture
def logs() -> Logs:
    return Logs()


@pytest.fixture
async def runtime(tmp_path: Path, logs: Logs) -> AsyncIterator[ContainerRuntime]:
    require("bwrap", "prlimit")
    rt = ContainerRuntime(tmp_path / "run", log_sink=logs, stop_grace_s=1.0)
    try:
        yield rt
    finally:
        await rt.aclose()
