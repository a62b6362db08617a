from __future__ import annotations

import pytest

from triggers.backoff import Backoff


def test_the_cap_doubles_until_the_maximum_and_jitter_stays_under_it() -> None:
    backoff = Backoff(initial_s=0.1, max_s=1.0)
    assert [backoff.cap(n) for n in range(1, 6)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0])
    assert backoff.delay(3, rand=lambda: 0.5) == pytest.approx(0.2)
    assert backoff.delay(9, rand=lambda: 0.999) < 1.0


def test_nonsense_backoff_is_refused() -> None:
    with pytest.raises(ValueError, match="initial <= max"):
        Backoff(initial_s=2, max_s=1)
