"""Real endpoint processes for url functions (tests/runtime_adapters/url/endpoint.py),
started, killed and restarted on the same port by the tests."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from runtime_adapters.base import RevisionSpec
from runtime_adapters.url.runtime import UrlRuntime
from runtime_adapters.url.settings import UrlSettings
from tests.integration.harness import free_port, wait_for

ENDPOINT = Path(__file__).with_name("endpoint.py")


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Endpoints:
    """Endpoint processes by name; each keeps its port across restarts."""

    def __init__(self) -> None:
        self.ports: dict[str, int] = {}
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str) -> str:
        """Start (or restart) the endpoint and return its URL once it accepts."""
        port = self.ports.setdefault(name, free_port())
        self._processes[name] = subprocess.Popen(
            [sys.executable, str(ENDPOINT), str(port), name],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: _accepts(port), timeout=10, what=f"endpoint {name} on {port}")
        return self.url(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def kill(self, name: str) -> None:
        process = self._processes.pop(name)
        process.kill()
        process.wait()

    def control(self, name: str, **modes: int) -> dict[str, Any]:
        """Set the endpoint's health or status answers; its request counts by path."""
        response = httpx.post(f"{self.url(name)}/_control", params=modes, timeout=5)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def served(self, name: str, path: str = "/who") -> int:
        count: int = self.control(name)["counts"].get(path, 0)
        return count

    def __enter__(self) -> Endpoints:
        return self

    def __exit__(self, *exc: object) -> None:
        for name in list(self._processes):
            self.kill(name)


@pytest.fixture
def endpoints() -> Iterator[Endpoints]:
    with Endpoints() as started:
        yield started


def url_spec(*, function: str = "users", revision: int = 1, **settings: object) -> RevisionSpec:
    """A revision through the runtime's own settings model, as gaia.yaml makes one."""
    model = UrlSettings.from_dict(settings)
    return model.spec(
        function=function, revision=revision, digest=f"{function}-{revision}", bundle_dir=Path()
    )


@pytest.fixture
async def runtime() -> AsyncIterator[UrlRuntime]:
    started = UrlRuntime(stop_grace_s=1.0)
    try:
        yield started
    finally:
        await started.aclose()
