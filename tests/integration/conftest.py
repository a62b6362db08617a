from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness import Gaia


@pytest.fixture
def gaia_factory(tmp_path: Path) -> Iterator[type[Gaia]]:
    """Builds gateways under this test's tmp dir and stops every one of them afterwards."""
    started: list[Gaia] = []

    def make(name: str = "home", **kwargs: object) -> Gaia:
        gaia = Gaia(tmp_path / name, **kwargs)  # type: ignore[arg-type]
        started.append(gaia)
        return gaia

    yield make  # type: ignore[misc]
    for gaia in started:
        gaia.kill()
