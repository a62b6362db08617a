from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import gaia_factory
from tests.legacy.oldapi import OldApi

__all__ = ["gaia_factory", "old_api"]


@pytest.fixture
def old_api(tmp_path: Path) -> Iterator[OldApi]:
    """The old API (tests/legacy/oldapi.py) in its own process, for this test alone."""
    server = OldApi(tmp_path).start()
    yield server
    server.stop()
