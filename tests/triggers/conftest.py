from __future__ import annotations

from pathlib import Path

import pytest

from tests.triggers.config_kit import make_base


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """A directory with the code of function `hello` at functions/hello, for gaia.yaml
    files that give their triggers a function."""
    return make_base(tmp_path)
