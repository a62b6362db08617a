"""Wall-clock times (naive datetimes, as a clock in a zone shows them) and the instants
they stand for: one, none (skipped by a spring change) or two (repeated in autumn)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

_SECOND = timedelta(seconds=1)


def wall_time(instant: datetime, zone: ZoneInfo) -> datetime:
    return instant.astimezone(zone).replace(tzinfo=None)


def instants(wall: datetime, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants at which clocks in `zone` show `wall`, earliest first."""
    found: list[datetime] = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if wall_time(instant, zone) == wall and instant not in found:
            found.append(instant)
    return sorted(found)


def fold_length(wall: datetime, zone: ZoneInfo) -> timedelta:
    """How long the clocks went back at the autumn change that repeats `wall`; zero for
    a time that comes once or never."""
    if len(instants(wall, zone)) < 2:
        return timedelta(0)
    first = wall.replace(tzinfo=zone, fold=0).utcoffset()
    second = wall.replace(tzinfo=zone, fold=1).utcoffset()
    assert first is not None and second is not None
    return first - second


def end_of_gap(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first instant after the spring change that skipped `wall` (03:00 CEST for
    02:30 in Berlin): the UTC second at which the clocks jumped."""
    # Read with the offset from after the jump, `wall` is an instant before it; with the
    # offset from before, one after it. The jump lies between: find its second.
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if after < before:
        before, after = after, before
    offset = before.astimezone(zone).utcoffset()
    while after - before > _SECOND:
        middle = before + (after - before) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == offset:
            before = middle
        else:
            after = middle
    return after
