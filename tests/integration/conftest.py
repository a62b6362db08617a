from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Gaia, GaiaFactory


@pytest.fixture
def gaia_factory(tmp_path: Path) -> Iterator[GaiaFactory]:
    """Builds gateways under this test's tmp dir and kills every one of them afterwards."""
    started: list[Gaia] = []

    def make(name: str = "home", *, extra_env: dict[str, str] | None = None) -> Gaia:
        gaia = Gaia(tmp_path / name, extra_env=extra_env)
        started.append(gaia)
        return gaia

    yield make
    for gaia in started:
        gaia.kill()
