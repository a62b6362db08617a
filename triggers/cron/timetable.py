"""Which wall-clock times a cron expression's fields match, in order.

Day of month and weekday combine as in Vixie cron: when both fields are restricted, a
day matching either runs; when either starts with `*` (`*`, `*/2`), both must match.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # February: leap years


@dataclass(frozen=True, kw_only=True)
class Timetable:
    seconds: tuple[int, ...]  # each sorted, not empty
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    # Both day fields restricted: a day matching either runs (crontab's OR).
    day_or_weekday: bool

    def ever_matches(self) -> bool:
        """Whether any date matches. With OR a weekday always comes; with AND every
        month-day that exists (29 February too) falls on each weekday in some year."""
        return self.day_or_weekday or any(
            day <= _DAYS_IN_MONTH[month - 1] for month in self.months for day in self.days
        )

    def matches_date(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        on_weekday = (day.weekday() + 1) % 7 in self.weekdays
        if self.day_or_weekday:
            return in_days or on_weekday
        return in_days and on_weekday

    def walls_from(self, start: datetime) -> Iterator[datetime]:
        """Matching wall-clock times from the naive `start`'s whole second on, in order,
        forever (callers check `ever_matches` first)."""
        day, earliest = start.date(), start.time().replace(microsecond=0)
        while True:
            if day.month not in self.months:
                day = _first_of_next_month(day)
                earliest = time(0)
                continue
            if self.matches_date(day):
                for moment in self._times_from(earliest):
                    yield datetime.combine(day, moment)
            day += timedelta(days=1)
            earliest = time(0)

    def _times_from(self, earliest: time) -> Iterator[time]:
        for hour in self.hours[bisect_left(self.hours, earliest.hour) :]:
            same_hour = hour == earliest.hour
            first_minute = earliest.minute if same_hour else 0
            for minute in self.minutes[bisect_left(self.minutes, first_minute) :]:
                same_minute = same_hour and minute == earliest.minute
                first_second = earliest.second if same_minute else 0
                for second in self.seconds[bisect_left(self.seconds, first_second) :]:
                    yield time(hour, minute, second)


def _first_of_next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)
