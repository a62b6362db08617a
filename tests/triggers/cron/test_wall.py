"""triggers/cron/wall.py: wall-clock times and the instants they stand for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from triggers.cron.wall import end_of_gap, fold_length, instants, wall_time

BERLIN = ZoneInfo("Europe/Berlin")
LORD_HOWE = ZoneInfo("Australia/Lord_Howe")


def test_a_time_that_comes_once() -> None:
    assert instants(datetime(2026, 7, 1, 9), BERLIN) == [datetime(2026, 7, 1, 7, tzinfo=UTC)]
    assert fold_length(datetime(2026, 7, 1, 9), BERLIN) == timedelta(0)


def test_a_time_the_spring_change_skips() -> None:
    assert instants(datetime(2026, 3, 29, 2, 30), BERLIN) == []
    assert fold_length(datetime(2026, 3, 29, 2, 30), BERLIN) == timedelta(0)
    assert end_of_gap(datetime(2026, 3, 29, 2, 30), BERLIN) == datetime(2026, 3, 29, 1, tzinfo=UTC)
    # Lord Howe jumps half an hour, 02:00 to 02:30 local (15:30 UTC the day before).
    jump = end_of_gap(datetime(2026, 10, 4, 2, 10), LORD_HOWE)
    assert jump == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    assert wall_time(jump, LORD_HOWE) == datetime(2026, 10, 4, 2, 30)


def test_a_time_the_autumn_change_repeats() -> None:
    assert instants(datetime(2026, 10, 25, 2, 30), BERLIN) == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    ]
    assert fold_length(datetime(2026, 10, 25, 2, 30), BERLIN) == timedelta(hours=1)
    assert fold_length(datetime(2026, 4, 5, 1, 45), LORD_HOWE) == timedelta(minutes=30)
