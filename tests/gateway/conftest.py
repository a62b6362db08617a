from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import GaiaFile, parse_config
from gateway.control import ControlPlane
from gateway.store import MemoryStore
from runtime_adapters.base import Invocation, RevisionSpec
from runtime_adapters.memory import MemoryRuntime


def version(invocation: Invocation, spec: RevisionSpec) -> str:
    return f"{spec.function}@{spec.revision}"


@pytest.fixture
def runtime() -> MemoryRuntime:
    return MemoryRuntime({"main.handler": version})


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
async def control(tmp_path: Path, runtime: MemoryRuntime, store: MemoryStore) -> ControlPlane:
    plane = ControlPlane(
        store=store, bundles_root=tmp_path / "bundles", runtimes={"python": runtime}
    )
    await plane.start()
    return plane


@pytest.fixture
def gaia_file(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Parse a gaia.yaml written under tmp_path; code dirs are made on demand."""

    def parse(text: str, *, code: dict[str, str] | None = None) -> GaiaFile:
        for name, source in (code or {}).items():
            directory = tmp_path / name
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "main.py").write_text(source)
        return parse_config(text, file="gaia.yaml", base_dir=tmp_path)

    return parse
