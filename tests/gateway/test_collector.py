"""The collector settings the gateway serves with."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from gateway.collector import YOUNG_THRESHOLD, freeze_startup_objects, tune_for_serving


@pytest.fixture
def restored() -> Iterator[None]:
    saved = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*saved)


@pytest.mark.usefixtures("restored")
def test_young_collections_are_rarer_and_startup_objects_out_of_reach() -> None:
    _, older, oldest = gc.get_threshold()
    tune_for_serving()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, older, oldest) == (20_000, older, oldest)
    kept = [{"config": n} for n in range(1000)]
    freeze_startup_objects()
    assert gc.get_freeze_count() >= len(kept)
