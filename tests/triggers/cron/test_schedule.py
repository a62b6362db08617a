"""triggers/cron/schedule.py: cron expressions into APScheduler triggers, and their ticks."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

import pytest

from triggers.cron.schedule import next_tick, parse_schedule, parse_timezone, ticks_between

BERLIN = ZoneInfo("Europe/Berlin")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def ticks(expression: str, after: datetime, until: datetime, *, timezone: str = "UTC") -> list[str]:
    """The ticks in (after, until] as UTC ISO text, for short assertions."""
    trigger = parse_schedule(expression, timezone=timezone)
    return [tick.astimezone(UTC).isoformat() for tick in ticks_between(trigger, after, until)]


def weekdays(expression: str) -> list[str]:
    """The days of one week (Sunday 4 to Saturday 10 January 2026) a schedule runs on."""
    trigger = parse_schedule(expression)
    found = ticks_between(trigger, utc(2026, 1, 3, 12), utc(2026, 1, 10, 12))
    return [tick.strftime("%a") for tick in found]


def first(expression: str, after: datetime, *, timezone: str = "UTC") -> datetime | None:
    return next_tick(parse_schedule(expression, timezone=timezone), after)


# --- five and six fields --------------------------------------------------------------


def test_five_fields_are_minute_hour_day_month_weekday() -> None:
    assert ticks("*/15 * * * *", utc(2026, 1, 1, 10), utc(2026, 1, 1, 11)) == [
        "2026-01-01T10:15:00+00:00",
        "2026-01-01T10:30:00+00:00",
        "2026-01-01T10:45:00+00:00",
        "2026-01-01T11:00:00+00:00",
    ]
    assert first("30 4 15 6 *", utc(2026, 1, 1)) == utc(2026, 6, 15, 4, 30)
    assert first("0 0 1,15 * *", utc(2026, 1, 2)) == utc(2026, 1, 15)


def test_ticks_between_excludes_after_and_includes_until() -> None:
    assert ticks("0 * * * *", utc(2026, 1, 1, 1), utc(2026, 1, 1, 3)) == [
        "2026-01-01T02:00:00+00:00",
        "2026-01-01T03:00:00+00:00",
    ]
    assert ticks("0 * * * *", utc(2026, 1, 1, 1), utc(2026, 1, 1, 1, 59)) == []
    # next_tick is the first tick strictly after its moment, too.
    assert first("0 * * * *", utc(2026, 1, 1, 1)) == utc(2026, 1, 1, 2)
    assert first("0 * * * *", utc(2026, 1, 1, 1) - timedelta(microseconds=1)) == utc(2026, 1, 1, 1)


def test_six_fields_put_seconds_first() -> None:
    assert ticks("*/20 * * * * *", utc(2026, 1, 1, 10), utc(2026, 1, 1, 10, 1)) == [
        "2026-01-01T10:00:20+00:00",
        "2026-01-01T10:00:40+00:00",
        "2026-01-01T10:01:00+00:00",
    ]
    assert first("30 0 9 * * *", utc(2026, 1, 1)) == utc(2026, 1, 1, 9, 0, 30)


def test_whitespace_between_fields_does_not_matter() -> None:
    assert first("0  9 *\t* *", utc(2026, 1, 1)) == utc(2026, 1, 1, 9)


def test_a_date_that_never_comes_is_rejected_and_a_rare_one_waits() -> None:
    with pytest.raises(ValueError, match="never fires"):
        parse_schedule("0 0 31 2 *")
    assert first("0 0 29 2 *", utc(2026, 1, 1)) == utc(2028, 2, 29)


def test_day_of_month_and_weekday_both_restricted_must_both_match() -> None:
    # APScheduler ANDs the two fields; Vixie cron would run on the 1st *or* on Mondays.
    assert ticks("0 0 1 * 1", utc(2026, 1, 1), utc(2026, 12, 31)) == ["2026-06-01T00:00:00+00:00"]


# --- @every ---------------------------------------------------------------------------


def test_every_ticks_at_multiples_of_the_interval_since_the_epoch() -> None:
    assert first("@every 30s", utc(2026, 1, 1, 0, 0, 7)) == utc(2026, 1, 1, 0, 0, 30)
    assert ticks("@every 30s", utc(2026, 1, 1), utc(2026, 1, 1, 0, 1, 30)) == [
        "2026-01-01T00:00:30+00:00",
        "2026-01-01T00:01:00+00:00",
        "2026-01-01T00:01:30+00:00",
    ]
    # 7 s does not divide a minute: ticks are still whole multiples of 7 s since 1970.
    for tick in ticks_between(parse_schedule("@every 7s"), utc(2026, 1, 1), utc(2026, 1, 1, 0, 1)):
        assert tick.timestamp() % 7 == 0


def test_every_gives_replicas_the_same_ticks_whenever_they_start() -> None:
    early, late = parse_schedule("@every 90s"), parse_schedule("@every 90s")
    moment = utc(2026, 5, 5, 12, 0, 1)
    assert next_tick(early, moment) == next_tick(late, moment + timedelta(seconds=13))
    assert ticks_between(early, moment, moment + timedelta(minutes=10)) == ticks_between(
        late, moment, moment + timedelta(minutes=10)
    )


def test_every_ignores_the_time_zone() -> None:
    # Multiples of an hour since the epoch are whole UTC hours: :30 in India.
    assert ticks(
        "@every 1h", utc(2026, 1, 1, 0, 10), utc(2026, 1, 1, 2), timezone="Asia/Kolkata"
    ) == [
        "2026-01-01T01:00:00+00:00",
        "2026-01-01T02:00:00+00:00",
    ]


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("@every 1s", 1), ("@every 30s", 30), ("@every 1.5m", 90), ("@every 2h", 7200)],
)
def test_every_units(expression: str, seconds: int) -> None:
    after = utc(2026, 1, 1)
    tick = first(expression, after)
    assert tick is not None
    assert tick - after == timedelta(seconds=seconds)


# --- shortcuts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shortcut", "expected"),
    [
        ("@yearly", utc(2027, 1, 1)),
        ("@annually", utc(2027, 1, 1)),
        ("@monthly", utc(2026, 2, 1)),
        ("@weekly", utc(2026, 1, 11)),  # Sunday
        ("@daily", utc(2026, 1, 8)),
        ("@midnight", utc(2026, 1, 8)),
        ("@hourly", utc(2026, 1, 7, 11)),
    ],
)
def test_shortcuts(shortcut: str, expected: datetime) -> None:
    assert first(shortcut, utc(2026, 1, 7, 10, 30)) == expected  # a Wednesday


# --- weekdays -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("*", ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]),
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("0,7", ["Sun"]),
        ("1", ["Mon"]),
        ("6", ["Sat"]),
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("MON-FRI", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("sun", ["Sun"]),
        ("sat,sun", ["Sun", "Sat"]),
        ("5-7", ["Sun", "Fri", "Sat"]),
        ("*/2", ["Sun", "Tue", "Thu", "Sat"]),
        ("1-5/2", ["Mon", "Wed", "Fri"]),
        ("1,3-4", ["Mon", "Wed", "Thu"]),
    ],
)
def test_weekdays_count_from_sunday_as_in_cron(field: str, days: list[str]) -> None:
    # APScheduler alone counts from Monday = 0, so 1-5 would mean Tuesday to Saturday.
    assert weekdays(f"0 0 * * {field}") == days


# --- time zones -----------------------------------------------------------------------


def test_a_local_time_follows_summer_time() -> None:
    # 09:00 in Berlin is 08:00 UTC in winter (CET, +1) and 07:00 UTC in summer (CEST, +2).
    winter = first("0 9 * * *", utc(2026, 1, 15), timezone="Europe/Berlin")
    summer = first("0 9 * * *", utc(2026, 7, 15), timezone="Europe/Berlin")
    assert winter == utc(2026, 1, 15, 8)
    assert summer == utc(2026, 7, 15, 7)
    assert winter is not None and winter.tzinfo == BERLIN
    assert (winter.hour, summer.astimezone(BERLIN).hour if summer else None) == (9, 9)


def test_the_days_around_a_clock_change_keep_their_local_time() -> None:
    assert ticks("0 9 * * *", utc(2026, 3, 28), utc(2026, 3, 31), timezone="Europe/Berlin") == [
        "2026-03-28T08:00:00+00:00",
        "2026-03-29T07:00:00+00:00",  # summer time from 02:00 that morning
        "2026-03-30T07:00:00+00:00",
    ]


def test_a_time_skipped_by_the_spring_change_runs_once_an_hour_later() -> None:
    # On 29 March 2026 Berlin's clocks jump from 02:00 to 03:00, so 02:30 does not exist.
    # APScheduler 3 still produces the wall time 02:30 for that day; a zoneinfo time in
    # the gap takes the offset from before the jump (+01:00), which is 01:30 UTC, or
    # 03:30 by the (summer) clocks that morning. So the job runs once that day, an hour
    # later by the wall clock; the days around it run at 02:30 as usual.
    assert ticks("30 2 * * *", utc(2026, 3, 27), utc(2026, 3, 31), timezone="Europe/Berlin") == [
        "2026-03-27T01:30:00+00:00",
        "2026-03-28T01:30:00+00:00",
        "2026-03-29T01:30:00+00:00",
        "2026-03-30T00:30:00+00:00",
    ]
    tick = first("30 2 * * *", utc(2026, 3, 29), timezone="Europe/Berlin")
    assert tick is not None
    assert (tick.hour, tick.minute) == (2, 30)  # the wall time asked for, which did not exist
    assert tick.astimezone(UTC).astimezone(BERLIN).strftime("%H:%M %Z") == "03:30 CEST"


def test_a_time_repeated_by_the_autumn_change_runs_twice() -> None:
    # On 25 October 2026 Berlin's clocks go back from 03:00 to 02:00, so 02:30 comes
    # twice. APScheduler 3 fires on both (00:30 UTC in summer time, 01:30 UTC in winter
    # time); Vixie cron would run it once. Asked from UTC moments, next_tick finds both.
    # (An ambiguous local time compares unequal to every time in another zone, PEP 495,
    # hence the conversions to UTC.)
    trigger = parse_schedule("30 2 * * *", timezone="Europe/Berlin")
    summer = next_tick(trigger, utc(2026, 10, 25))
    assert summer is not None
    assert summer.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    winter = next_tick(trigger, summer.astimezone(UTC))
    assert winter is not None
    assert (winter.hour, winter.minute, winter.fold) == (2, 30, 1)
    assert winter.astimezone(UTC) == utc(2026, 10, 25, 1, 30)
    tomorrow = next_tick(trigger, winter.astimezone(UTC))
    assert tomorrow is not None
    assert tomorrow.astimezone(UTC) == utc(2026, 10, 26, 1, 30)


class _Hung(Exception):
    pass


@contextmanager
def _at_most(seconds: float) -> Iterator[None]:
    """Raise _Hung in the block after `seconds` (SIGALRM: main thread, Unix only)."""

    def alarm(signum: int, frame: FrameType | None) -> None:
        raise _Hung

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_ticks_between_gets_through_the_autumn_change() -> None:
    with _at_most(2.0):
        found = ticks(
            "*/30 * * * *", utc(2026, 10, 24, 23), utc(2026, 10, 25, 2), timezone="Europe/Berlin"
        )
    assert found == [
        "2026-10-24T23:30:00+00:00",
        "2026-10-25T00:00:00+00:00",  # 02:00 CEST
        "2026-10-25T00:30:00+00:00",  # 02:30 CEST
        "2026-10-25T01:00:00+00:00",  # 02:00 CET
        "2026-10-25T01:30:00+00:00",  # 02:30 CET
        "2026-10-25T02:00:00+00:00",
    ]


def test_next_tick_after_a_repeated_local_time() -> None:
    trigger = parse_schedule("30 2 * * *", timezone="Europe/Berlin")
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)  # 01:30 UTC
    tick = next_tick(trigger, second)
    assert tick is not None
    assert tick.astimezone(UTC) == utc(2026, 10, 26, 1, 30)


def test_ticks_are_in_the_schedules_zone() -> None:
    tick = first("0 9 * * *", utc(2026, 1, 1), timezone="America/New_York")
    assert tick is not None
    assert tick.tzinfo == ZoneInfo("America/New_York")
    assert tick == utc(2026, 1, 1, 14)


def test_parse_timezone() -> None:
    assert parse_timezone("Europe/Berlin") == BERLIN
    assert parse_timezone("UTC") == ZoneInfo("UTC")


# --- errors ---------------------------------------------------------------------------

FIELDS = (
    "expected 5 cron fields (minute hour day month weekday), 6 with seconds first,"
    " @every DURATION or a shortcut like @hourly; got"
)


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * *", f"{FIELDS} 3 field(s) in '* * *'"),
        ("* * * * * * *", f"{FIELDS} 7 field(s) in '* * * * * * *'"),
        ("", f"{FIELDS} 1 field(s) in ''"),
        (
            "61 * * * *",
            "invalid cron expression '61 * * * *': Error validating expression '61': the last"
            " value (61) is higher than the maximum value (59)",
        ),
        ("60 * * * * *", "invalid cron expression '60 * * * * *': Error validating"),
        ("* 24 * * *", "invalid cron expression '* 24 * * *': Error validating expression '24'"),
        ("* * 0 * *", "invalid cron expression '* * 0 * *': Error validating expression '0'"),
        ("* * 32 * *", "invalid cron expression '* * 32 * *': Error validating expression '32'"),
        ("* * * 13 *", "invalid cron expression '* * * 13 *': Error validating expression '13'"),
        (
            "x * * * *",
            'invalid cron expression \'x * * * *\': Unrecognized expression "x" for field "minute"',
        ),
        (
            "* * * * 8",
            "invalid cron expression '* * * * 8': invalid weekday '8': expected 0-7 (0 and 7"
            " are Sunday) or sun-sat",
        ),
        (
            "* * * * 5-1",
            "invalid cron expression '* * * * 5-1': invalid weekday range '5-1': expected the"
            " first day first",
        ),
        ("* * * * sunday", "invalid cron expression '* * * * sunday': invalid weekday 'sunday'"),
        ("* * * * mon-", "invalid cron expression '* * * * mon-': invalid weekday 'mon-'"),
        (
            "@often",
            "unknown shortcut '@often': expected @every DURATION or one of @yearly, @annually,"
            " @monthly, @weekly, @daily, @midnight, @hourly",
        ),
        ("@Hourly", "unknown shortcut '@Hourly'"),
        ("@every", "expected @every with a duration like 30s or 5m, got '@every'"),
        ("@every 30", "expected @every with a duration like 30s or 5m, got '@every 30'"),
        ("@every 1d", "expected @every with a duration like 30s or 5m, got '@every 1d'"),
        ("@every 500ms", "expected @every 1s or longer, got '@every 500ms'"),
        ("@every 0s", "expected @every 1s or longer, got '@every 0s'"),
    ],
)
def test_bad_expressions_are_value_errors_that_say_what_is_wrong(
    expression: str, message: str
) -> None:
    with pytest.raises(ValueError) as info:
        parse_schedule(expression)
    assert str(info.value).startswith(message)


@pytest.mark.parametrize(
    "name", ["Mars/Base", "", "europe/berlin", "../../etc/passwd", "/etc/localtime"]
)
def test_unknown_time_zones(name: str) -> None:
    message = f"unknown time zone {name!r}: expected an IANA name like UTC or Europe/Berlin"
    with pytest.raises(ValueError) as info:
        parse_timezone(name)
    assert str(info.value) == message
    with pytest.raises(ValueError) as info:
        parse_schedule("* * * * *", timezone=name)
    assert str(info.value) == message
