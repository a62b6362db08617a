"""Independent answers to "when does this cron expression run?", for the property tests.

cronsim (PyPI) follows Debian's cron, DST handling included: a schedule with fixed
minute and hour keeps its times by the wall clock (a time skipped in spring runs when the
clocks jump, a repeated one runs once), any other runs whenever the clock shows a
matching time. Two quirks of cronsim 2.8 that Debian does not share are avoided or worked
around here:
- `N-N/STEP` is read as `N-max/STEP` (Debian: just N); the generators never write it.
- A schedule run by the moment, in a zone whose clocks jump from or to a time off the
  hour (Lord_Howe 02:00 to 02:30, Chatham 02:45 to 03:45) or midnight (Santiago 00:00 to
  01:00), loses or misplaces ticks on the day of the change: cronsim steps hours by 3600 s
  from the top of the hour, which the change moves, and reads a skipped midnight as if it
  existed. There the answer is `scanned_ticks`: every minute of real time, its local time
  checked against the fields as cronsim parses them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from cronsim import CronSim

_MINUTE = timedelta(minutes=1)


def cronsim_ticks(expression: str, zone: ZoneInfo, start: datetime, count: int) -> list[datetime]:
    """cronsim's first `count` ticks after `start` (whose local time must come only once:
    cronsim reads a start inside a repeated hour by its wall clock alone)."""
    ticks = CronSim(expression, start.astimezone(zone))
    return [next(ticks).astimezone(UTC) for _ in range(count)]


def cronsim_next(expression: str, zone: ZoneInfo, after: datetime) -> datetime:
    """cronsim's first tick strictly after any instant, repeated hours included: iterate
    from a few hours before, from an instant whose local time comes once."""
    start = after.replace(microsecond=0) - timedelta(hours=3)
    while shown_twice(start, zone):
        start -= timedelta(hours=1)
    for tick in CronSim(expression, start.astimezone(zone)):
        if tick.astimezone(UTC) > after:
            return tick.astimezone(UTC)
    raise AssertionError(f"cronsim found no tick for {expression!r}")


def scanned_ticks(
    expression: str, zone: ZoneInfo, after: datetime, until: datetime, count: int
) -> list[datetime]:
    """The first `count` whole minutes in (after, until] whose local time matches a
    5-field expression, in real time: what a schedule run by the moment means."""
    fields = CronSim(expression, after.astimezone(zone))
    found: list[datetime] = []
    minute = after.replace(second=0, microsecond=0) + _MINUTE
    while minute <= until and len(found) < count:
        local = minute.astimezone(zone)
        if (
            local.month in fields.months
            and local.hour in fields.hours
            and local.minute in fields.minutes
            and fields.match_day(local.date())
        ):
            found.append(minute)
        minute += _MINUTE
    return found


def shown_twice(moment: datetime, zone: ZoneInfo) -> bool:
    """Whether the local time at `moment` comes twice (an autumn change repeats it)."""
    local = moment.astimezone(zone)
    return local.replace(fold=0).utcoffset() != local.replace(fold=1).utcoffset()


@cache
def transitions(name: str, first_year: int = 2024, last_year: int = 2027) -> tuple[datetime, ...]:
    """The instants `name` changed its UTC offset, in UTC, found by bisection between
    daily probes (no zone changes twice in a day)."""
    zone = ZoneInfo(name)
    step = timedelta(days=1)
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    end = datetime(last_year + 1, 1, 1, tzinfo=UTC)
    found = []
    while moment < end:
        before, later = moment, moment + step
        if before.astimezone(zone).utcoffset() != later.astimezone(zone).utcoffset():
            offset = before.astimezone(zone).utcoffset()
            while later - before > timedelta(seconds=1):
                middle = (before + (later - before) / 2).replace(microsecond=0)
                if middle.astimezone(zone).utcoffset() == offset:
                    before = middle
                else:
                    later = middle
            found.append(later)
        moment += step
    return tuple(found)


@cache
def cronsim_steps_wrongly(name: str) -> bool:
    """Whether `name`'s clocks ever jump from or to a time off the hour (Lord_Howe: 02:00
    to 02:30; Chatham: 02:45 to 03:45) or from or to midnight (Santiago, Havana)."""
    zone = ZoneInfo(name)
    for instant in transitions(name):
        before = (instant - timedelta(seconds=1)).astimezone(zone) + timedelta(seconds=1)
        after = instant.astimezone(zone)
        if before.minute or after.minute or before.hour in (0, 24) or after.hour == 0:
            return True
    return False
