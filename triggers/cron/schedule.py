"""Cron expressions into APScheduler triggers, and the ticks they give.

Accepted: 5 fields (`*/5 * * * *`), 6 with seconds first (`*/10 * * * * *`, as in
Quartz and Spring), `@every 30s` (ticks at whole multiples of the interval since the
epoch, so every replica computes the same ones), and `@yearly`, `@annually`,
`@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

_SHORTCUTS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
_EVERY = re.compile(r"@every\s+(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_timezone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}: expected an IANA name like UTC or Europe/Berlin"
        ) from None


def parse_schedule(expression: str, *, timezone: str = "UTC") -> BaseTrigger:
    """An APScheduler trigger for `expression`; ValueError says what is wrong,
    including a schedule that can never fire (`0 0 31 2 *`)."""
    trigger = _trigger(expression, timezone=timezone)
    if next_tick(trigger, datetime.now(UTC)) is None:
        raise ValueError(f"schedule {expression!r} never fires: no such date exists")
    return trigger


def _trigger(expression: str, *, timezone: str) -> BaseTrigger:
    zone = parse_timezone(timezone)
    text = " ".join(expression.split())
    if text.startswith("@every"):
        match = _EVERY.fullmatch(text)
        if match is None:
            raise ValueError(f"expected @every with a duration like 30s or 5m, got {expression!r}")
        seconds = float(match.group(1)) * _UNIT_S[match.group(2)]
        if seconds < 1:
            raise ValueError(f"expected @every 1s or longer, got {expression!r}")
        return IntervalTrigger(seconds=seconds, start_date=_EPOCH, timezone=zone)
    if text.startswith("@"):
        if text not in _SHORTCUTS:
            raise ValueError(
                f"unknown shortcut {text!r}: expected @every DURATION or one of "
                + ", ".join(_SHORTCUTS)
            )
        text = _SHORTCUTS[text]
    fields = text.split(" ")
    if len(fields) in (5, 6):
        second, (minute, hour, day, month, weekday) = (
            (fields[0], fields[1:]) if len(fields) == 6 else ("0", fields)
        )
        try:
            return CronTrigger(
                second=second,
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=_weekdays(weekday),
                timezone=zone,
            )
        except ValueError as exc:
            raise ValueError(f"invalid cron expression {expression!r}: {exc}") from None
    raise ValueError(
        f"expected 5 cron fields (minute hour day month weekday), 6 with seconds first,"
        f" @every DURATION or a shortcut like @hourly; got {len(fields)} field(s)"
        f" in {expression!r}"
    )


_DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_WEEKDAY_TOKEN = re.compile(r"(\*|\w+)(?:-(\w+))?(?:/(\d+))?")


def _weekdays(field: str) -> str:
    """Cron's weekday field (0 or 7 = Sunday, names too) as APScheduler's day names.

    APScheduler 3 numbers weekdays from Monday = 0, so `1-5` would silently mean
    Tuesday to Saturday; names mean the same to both.
    """
    if field == "*":
        return field
    days: set[int] = set()
    for token in field.split(","):
        match = _WEEKDAY_TOKEN.fullmatch(token.lower())
        if match is None:
            raise ValueError(f"invalid weekday {token!r}: expected 0-7 or sun-sat")
        first, last, step = match.groups()
        start, end = (0, 6) if first == "*" else (_day(first), _day(last or first))
        if end < start:
            raise ValueError(f"invalid weekday range {token!r}: expected the first day first")
        days.update(range(start, end + 1, int(step or 1)))
    return ",".join(_DAY_NAMES[day % 7] for day in sorted(days))


def _day(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text in _DAY_NAMES:
        return _DAY_NAMES.index(text)
    raise ValueError(f"invalid weekday {text!r}: expected 0-7 (0 and 7 are Sunday) or sun-sat")


def ticks_between(trigger: BaseTrigger, after: datetime, until: datetime) -> list[datetime]:
    """Fire times in (after, until], oldest first."""
    ticks: list[datetime] = []
    previous: datetime | None = None
    moment = _just_after(after)
    while True:
        tick = trigger.get_next_fire_time(previous, moment)
        if tick is None or tick > until:
            return ticks
        ticks.append(tick)
        previous, moment = tick, _just_after(tick)


def next_tick(trigger: BaseTrigger, after: datetime) -> datetime | None:
    tick: datetime | None = trigger.get_next_fire_time(None, _just_after(after))
    return tick


def _just_after(moment: datetime) -> datetime:
    # In UTC: local arithmetic drops `fold`, and from the second 02:30 of an autumn
    # night would step back to the first one, forever.
    return moment.astimezone(UTC) + timedelta(microseconds=1)
