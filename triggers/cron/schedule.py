"""Cron expressions into schedules, and the ticks they give.

Accepted: 5 fields (`*/5 * * * *`), 6 with seconds first (`*/10 * * * * *`, as in
Quartz and Spring), `@every 30s` (ticks at whole multiples of the interval since the
epoch, so every replica computes the same ones), and `@yearly`, `@annually`,
`@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.

Times follow Debian's (Vixie) cron, as cronsim does; tests/triggers/cron compare the two.
A schedule whose minute and hour fields are both set (neither starts with `*`) names
times of day, and keeps them by the wall clock: a time a spring change skips runs at the
first moment after the jump, a time an autumn change repeats runs the first time only.
Any other schedule (`*/15 * * * *`, `0 * * * *`) runs at every moment the clock shows a
matching time: none in the skipped hour, twice in the repeated one.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from triggers.cron.fields import DAY, HOUR, MINUTE, MONTH, SECOND, WEEKDAY, parse_field
from triggers.cron.timetable import Timetable
from triggers.cron.wall import end_of_gap, fold_length, instants, wall_time

_SHORTCUTS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_MAX_EVERY_S = 365 * 24 * 3600
_EVERY = re.compile(r"@every\s+(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_S = {"ms": Fraction(1, 1000), "s": Fraction(1), "m": Fraction(60), "h": Fraction(3600)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: expected an IANA name like UTC or Europe/Berlin"
        ) from None


@dataclass(frozen=True, kw_only=True)
class CronSchedule:
    expression: str
    zone: ZoneInfo
    timetable: Timetable
    # Minute and hour both set: times of day, kept by the wall clock through DST changes.
    by_wall_clock: bool

    def next(self, after: datetime) -> datetime:
        """The first tick strictly after the instant `after`, in the schedule's zone."""
        moment = after.astimezone(UTC)
        tick = self._by_wall_clock(moment) if self.by_wall_clock else self._by_moment(moment)
        return tick.astimezone(self.zone)

    def _by_wall_clock(self, after: datetime) -> datetime:
        for wall in self.timetable.walls_from(wall_time(after, self.zone)):
            found = instants(wall, self.zone)
            # A repeated time runs at its first instant; a skipped one when the clocks jump.
            tick = found[0] if found else end_of_gap(wall, self.zone)
            # Walls start at `after`'s own second; in the second pass of a repeated hour,
            # at times whose (first) instant has passed.
            if tick > after:
                return tick
        raise AssertionError("walls_from never ends")

    def _by_moment(self, after: datetime) -> datetime:
        start = wall_time(after, self.zone)
        # In the first pass of a repeated hour, a time already shown may come again later,
        # at its second instant: look back over the times the clocks will show again.
        walls = self.timetable.walls_from(start - fold_length(start, self.zone))
        best: datetime | None = None
        while True:
            wall = next(walls)
            found = instants(wall, self.zone)
            if not found:  # skipped by the clocks: go on from the times shown after the jump
                jump = end_of_gap(wall, self.zone)
                walls = self.timetable.walls_from(wall_time(jump, self.zone))
                continue
            later = [instant for instant in found if instant > after]
            if later and (best is None or later[0] < best):
                best = later[0]
            if best is not None and wall > start:
                return best


@dataclass(frozen=True, kw_only=True)
class EverySchedule:
    expression: str
    zone: ZoneInfo
    interval_s: Fraction

    def next(self, after: datetime) -> datetime:
        """The first whole multiple of the interval since 1970 strictly after `after`."""
        since = after.astimezone(UTC) - _EPOCH
        elapsed = Fraction(since.days * 86400 + since.seconds) + Fraction(since.microseconds, 10**6)
        count = math.floor(elapsed / self.interval_s) + 1
        # Rounded up, so that a tick between two microseconds stays after `after`.
        tick = _EPOCH + timedelta(microseconds=math.ceil(count * self.interval_s * 10**6))
        return tick.astimezone(self.zone)


Schedule = CronSchedule | EverySchedule


def parse_schedule(expression: str, *, timezone: str = "UTC") -> Schedule:
    """The schedule `expression` describes; ValueError says what is wrong, including a
    schedule that can never fire (`0 0 31 2 *`)."""
    zone = parse_timezone(timezone)
    text = " ".join(expression.split())
    if text.startswith("@every"):
        return _every(text, expression, zone)
    if text.startswith("@"):
        if text not in _SHORTCUTS:
            raise ValueError(
                f"unknown shortcut {text!r}: expected @every DURATION or one of "
                + ", ".join(_SHORTCUTS)
            )
        text = _SHORTCUTS[text]
    fields = text.split(" ")
    if len(fields) not in (5, 6):
        raise ValueError(
            f"expected 5 cron fields (minute hour day month weekday), 6 with seconds first,"
            f" @every DURATION or a shortcut like @hourly; got {len(fields)} field(s)"
            f" in {expression!r}"
        )
    if len(fields) == 5:
        fields = ["0", *fields]
    try:
        timetable = _timetable(fields)
    except ValueError as exc:
        raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
    if not timetable.ever_matches():
        raise ValueError(f"schedule {expression!r} never fires: no such date exists")
    minute, hour = fields[1], fields[2]
    return CronSchedule(
        expression=expression,
        zone=zone,
        timetable=timetable,
        by_wall_clock=not minute.startswith("*") and not hour.startswith("*"),
    )


def _timetable(fields: list[str]) -> Timetable:
    second, minute, hour, day, month, weekday = fields
    return Timetable(
        seconds=tuple(sorted(parse_field(second, SECOND))),
        minutes=tuple(sorted(parse_field(minute, MINUTE))),
        hours=tuple(sorted(parse_field(hour, HOUR))),
        days=parse_field(day, DAY),
        months=parse_field(month, MONTH),
        weekdays=parse_field(weekday, WEEKDAY),
        # As in Vixie cron, a field starting with `*` (`*/2` too) does not restrict.
        day_or_weekday=not day.startswith("*") and not weekday.startswith("*"),
    )


def _every(text: str, expression: str, zone: ZoneInfo) -> EverySchedule:
    match = _EVERY.fullmatch(text)
    if match is None:
        raise ValueError(f"expected @every with a duration like 30s or 5m, got {expression!r}")
    interval = Fraction(match.group(1)) * _UNIT_S[match.group(2)]
    if interval < 1:
        raise ValueError(f"expected @every 1s or longer, got {expression!r}")
    if interval > _MAX_EVERY_S:
        # Longer intervals tick so far apart (multiples since 1970) that the next tick
        # can lie past the calendar's end.
        raise ValueError(f"expected @every 8760h (a year) or shorter, got {expression!r}")
    return EverySchedule(expression=expression, zone=zone, interval_s=interval)


def ticks_between(schedule: Schedule, after: datetime, until: datetime) -> list[datetime]:
    """Ticks in (after, until], oldest first."""
    found: list[datetime] = []
    tick = schedule.next(after)
    while tick.astimezone(UTC) <= until.astimezone(UTC):
        found.append(tick)
        tick = schedule.next(tick)
    return found


def upcoming(schedule: Schedule, after: datetime, count: int) -> list[datetime]:
    """The next `count` ticks after `after`."""
    found: list[datetime] = []
    for _ in range(count):
        after = schedule.next(after)
        found.append(after)
    return found
