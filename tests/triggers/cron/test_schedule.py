"""triggers/cron/schedule.py: cron expressions into schedules, and their ticks; the cases
of issue 11, each as it was reported (test_schedule_oracle.py generates the rest)."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

import pytest

from triggers.cron.schedule import (
    CronSchedule,
    parse_schedule,
    parse_timezone,
    ticks_between,
    upcoming,
)

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


def first(expression: str, after: datetime, *, timezone: str = "UTC") -> datetime:
    return parse_schedule(expression, timezone=timezone).next(after)


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
    # next is the first tick strictly after its moment, too.
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
    for never in ("0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30-31 feb */2"):
        with pytest.raises(ValueError, match=f"schedule '{re.escape(never)}' never fires"):
            parse_schedule(never)
    assert first("0 0 29 2 *", utc(2026, 1, 1)) == utc(2028, 2, 29)
    # With a weekday given too, the day is either: Mondays in February.
    assert first("0 0 31 2 1", utc(2026, 1, 1)) == utc(2026, 2, 2)


def test_day_of_month_and_weekday_both_restricted_mean_either_as_in_crontab() -> None:
    # Issue 11 (5): the 1st and the 15th, and every Monday, as Vixie cron, POSIX,
    # Kubernetes CronJob and croniter read `0 0 1,15 * 1`.
    assert ticks("0 0 1,15 * 1", utc(2026, 5, 31), utc(2026, 6, 30)) == [
        "2026-06-01T00:00:00+00:00",  # a Monday and the 1st: once
        "2026-06-08T00:00:00+00:00",
        "2026-06-15T00:00:00+00:00",
        "2026-06-22T00:00:00+00:00",
        "2026-06-29T00:00:00+00:00",
    ]
    assert weekdays("0 0 5 * fri") == ["Mon", "Fri"]  # Monday the 5th, Friday the 9th


def test_a_day_field_starting_with_a_star_does_not_restrict() -> None:
    # Vixie cron: a field starting with `*` (`*/2` too) leaves the other one alone, so
    # both must match: odd days that are Mondays.
    assert ticks("0 0 */2 * 1", utc(2026, 6, 1), utc(2026, 7, 31)) == [
        "2026-06-15T00:00:00+00:00",
        "2026-06-29T00:00:00+00:00",
        "2026-07-13T00:00:00+00:00",
        "2026-07-27T00:00:00+00:00",
    ]
    assert weekdays("0 0 * * mon") == ["Mon"]
    assert weekdays("0 0 4-10 * *") == ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]


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
    assert early.next(moment) == late.next(moment + timedelta(seconds=13))
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
    # Python counts from Monday = 0; cron from Sunday = 0, so 1-5 is Monday to Friday.
    assert weekdays(f"0 0 * * {field}") == days


# --- time zones -----------------------------------------------------------------------


def test_a_local_time_follows_summer_time() -> None:
    # 09:00 in Berlin is 08:00 UTC in winter (CET, +1) and 07:00 UTC in summer (CEST, +2).
    winter = first("0 9 * * *", utc(2026, 1, 15), timezone="Europe/Berlin")
    summer = first("0 9 * * *", utc(2026, 7, 15), timezone="Europe/Berlin")
    assert winter == utc(2026, 1, 15, 8)
    assert summer == utc(2026, 7, 15, 7)
    assert winter.tzinfo == BERLIN
    assert (winter.hour, summer.astimezone(BERLIN).hour) == (9, 9)


def test_the_days_around_a_clock_change_keep_their_local_time() -> None:
    assert ticks("0 9 * * *", utc(2026, 3, 28), utc(2026, 3, 31), timezone="Europe/Berlin") == [
        "2026-03-28T08:00:00+00:00",
        "2026-03-29T07:00:00+00:00",  # summer time from 02:00 that morning
        "2026-03-30T07:00:00+00:00",
    ]


# Spring changes (clocks jump forward) in 2024, the days of the reports.
SPRING = [
    ("Europe/Berlin", date(2024, 3, 31)),
    ("America/New_York", date(2024, 3, 10)),
    ("Australia/Lord_Howe", date(2024, 10, 6)),  # 02:00 to 02:30
    ("Pacific/Chatham", date(2024, 9, 29)),  # 02:45 to 03:45
]


@pytest.mark.parametrize(("zone", "day"), SPRING)
@pytest.mark.parametrize("expression", ["0 0 * * *", "@daily", "@midnight"])
def test_the_day_after_a_spring_change_runs(expression: str, zone: str, day: date) -> None:
    # Issue 11 (1): from midnight of the change, the next run was two days later.
    midnight = datetime.combine(day, time(0), tzinfo=ZoneInfo(zone))
    found = upcoming(parse_schedule(expression, timezone=zone), midnight, 3)
    assert [tick.replace(tzinfo=None) for tick in found] == [
        datetime.combine(day + timedelta(days=n), time(0)) for n in (1, 2, 3)
    ]


@pytest.mark.parametrize(("zone", "day"), SPRING)
def test_a_month_starting_after_a_spring_change_runs(zone: str, day: date) -> None:
    start = datetime.combine(day.replace(day=1), time(0), tzinfo=ZoneInfo(zone))
    found = upcoming(parse_schedule("@monthly", timezone=zone), start, 2)
    month = day.month % 12 + 1
    assert [tick.replace(tzinfo=None) for tick in found] == [
        datetime(day.year, month, 1),
        datetime(day.year, month + 1, 1),
    ]


def test_a_time_the_spring_change_skips_runs_when_the_clocks_jump() -> None:
    # On 29 March 2026 Berlin's clocks jump from 02:00 to 03:00: 02:30 runs at 03:00, the
    # first moment after the jump, as Debian's cron runs it; the days around at 02:30.
    assert ticks("30 2 * * *", utc(2026, 3, 27), utc(2026, 3, 31), timezone="Europe/Berlin") == [
        "2026-03-27T01:30:00+00:00",
        "2026-03-28T01:30:00+00:00",
        "2026-03-29T01:00:00+00:00",  # 03:00 CEST
        "2026-03-30T00:30:00+00:00",
    ]
    tick = first("30 2 * * *", utc(2026, 3, 29), timezone="Europe/Berlin")
    assert tick.strftime("%H:%M:%S %Z") == "03:00:00 CEST"
    # Lord Howe Island jumps from 02:00 to 02:30, so 02:15 runs at 02:30.
    tick = first("15 2 * * *", utc(2026, 10, 3, 12), timezone="Australia/Lord_Howe")
    assert tick.isoformat() == "2026-10-04T02:30:00+11:00"
    # A seconds field does not move the run past the first moment.
    tick = first("15 30 2 * * *", utc(2026, 3, 29), timezone="Europe/Berlin")
    assert tick.isoformat() == "2026-03-29T03:00:00+02:00"


def test_a_skipped_time_and_a_regular_one_both_run() -> None:
    # Issue 11 (4): the skipped 02:30 ran at 03:30, on top of the 03:30 run, and vanished.
    assert ticks(
        "30 2,3 * * *", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), timezone="Europe/Berlin"
    ) == ["2026-03-29T01:00:00+00:00", "2026-03-29T01:30:00+00:00"]  # 03:00, 03:30 CEST
    # Skipped 02:00 and regular 03:00 fall on the same moment: one run.
    assert ticks(
        "0 2,3 * * *", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), timezone="Europe/Berlin"
    ) == ["2026-03-29T01:00:00+00:00"]


@pytest.mark.parametrize(
    ("expression", "by_wall_clock"),
    [
        ("30 2 * * *", True),
        ("0 9 * * 1-5", True),
        ("@daily", True),
        ("@monthly", True),
        ("0 2,3 * * *", True),
        ("*/10 30 2 * * *", True),  # 6 fields: the minute and hour fields decide
        ("*/15 * * * *", False),
        ("0 * * * *", False),
        ("@hourly", False),
        ("* 2 * * *", False),
        ("0 */2 * * *", False),
    ],
)
def test_which_schedules_keep_times_of_day(expression: str, by_wall_clock: bool) -> None:
    schedule = parse_schedule(expression)
    assert isinstance(schedule, CronSchedule)
    assert schedule.by_wall_clock is by_wall_clock


def test_a_schedule_by_the_moment_skips_the_missing_hour() -> None:
    # Minute or hour starting with `*`: runs whenever the clock shows a matching time,
    # and between 02:00 and 03:00 on 29 March 2026 no Berlin clock shows anything.
    assert ticks(
        "*/30 * * * *", utc(2026, 3, 29, 0), utc(2026, 3, 29, 1, 30), timezone="Europe/Berlin"
    ) == [
        "2026-03-29T00:30:00+00:00",  # 01:30 CET
        "2026-03-29T01:00:00+00:00",  # 03:00 CEST
        "2026-03-29T01:30:00+00:00",
    ]


def test_a_time_the_autumn_change_repeats_runs_once() -> None:
    # On 25 October 2026 Berlin's clocks go back from 03:00 to 02:00, so 02:30 comes
    # twice; like Debian's cron, the job runs the first time only.
    assert ticks(
        "30 2 * * *", utc(2026, 10, 24), utc(2026, 10, 26, 12), timezone="Europe/Berlin"
    ) == [
        "2026-10-24T00:30:00+00:00",
        "2026-10-25T00:30:00+00:00",  # 02:30 CEST; not 02:30 CET an hour later
        "2026-10-26T01:30:00+00:00",
    ]
    # Issue 11 (4): in Chatham the clocks go back from 03:45 to 02:45 (5 April 2026).
    assert ticks("0 3 * * *", utc(2026, 4, 4), utc(2026, 4, 5, 23), timezone="Pacific/Chatham") == [
        "2026-04-04T13:15:00+00:00",  # 03:00 +13:45; not 03:00 +12:45 an hour later
        "2026-04-05T14:15:00+00:00",
    ]


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


def test_next_after_a_repeated_local_time() -> None:
    schedule = parse_schedule("30 2 * * *", timezone="Europe/Berlin")
    second = datetime(2026, 10, 25, 2, 30, fold=1, tzinfo=BERLIN)  # 01:30 UTC
    assert schedule.next(second).astimezone(UTC) == utc(2026, 10, 26, 1, 30)
    # By the moment, a time shown in the first pass comes again in the second.
    every = parse_schedule("*/20 * * * *", timezone="Europe/Berlin")
    first_pass = datetime(2026, 10, 25, 2, 50, tzinfo=BERLIN)  # 00:50 UTC
    assert every.next(first_pass).astimezone(UTC) == utc(2026, 10, 25, 1)  # 02:00 CET


def test_ticks_are_in_the_schedules_zone() -> None:
    tick = first("0 9 * * *", utc(2026, 1, 1), timezone="America/New_York")
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
            "invalid cron expression '61 * * * *': invalid minute '61': expected 0-59, a range"
            " like 1-3, a step like */2 or 1-3/2, or a list of those separated by commas",
        ),
        (
            "60 * * * * *",
            "invalid cron expression '60 * * * * *': invalid second '60': expected 0-59",
        ),
        ("* 24 * * *", "invalid cron expression '* 24 * * *': invalid hour '24': expected 0-23"),
        ("* * 0 * *", "invalid cron expression '* * 0 * *': invalid day '0': expected 1-31"),
        ("* * 32 * *", "invalid cron expression '* * 32 * *': invalid day '32': expected 1-31"),
        (
            "* * * 13 *",
            "invalid cron expression '* * * 13 *': invalid month '13': expected 1-12 or jan-dec,"
            " a range like feb-apr, a step like */2 or feb-apr/2, or a list of those",
        ),
        ("x * * * *", "invalid cron expression 'x * * * *': invalid minute 'x': expected 0-59"),
        (
            "* * * * 8",
            "invalid cron expression '* * * * 8': invalid weekday '8': expected 0-7 (0 and 7"
            " are Sunday) or sun-sat",
        ),
        (
            "* * * * 5-1",
            "invalid cron expression '* * * * 5-1': invalid weekday range '5-1': expected the"
            " smaller value first",
        ),
        # Issue 11 (2): a range of three was read as something else, silently.
        (
            "0 0 1 jan-mar-dec *",
            "invalid cron expression '0 0 1 jan-mar-dec *': invalid month 'jan-mar-dec':"
            " expected 1-12 or jan-dec",
        ),
        ("0 0 1 jan-13 *", "invalid cron expression '0 0 1 jan-13 *': invalid month '13' in"),
        ("*/0 * * * *", "invalid cron expression '*/0 * * * *': invalid minute step '*/0':"),
        ("5-* * * * *", "invalid cron expression '5-* * * * *': invalid minute '5-*'"),
        ("*-5 * * * *", "invalid cron expression '*-5 * * * *': invalid minute '*-5'"),
        ("1,,2 * * * *", "invalid cron expression '1,,2 * * * *': invalid minute ''"),
        ("0 0 * * 5L", "invalid cron expression '0 0 * * 5L': invalid weekday '5L'"),
        ("mon * * * *", "invalid cron expression 'mon * * * *': invalid minute 'mon'"),
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
        ("@every 8761h", "expected @every 8760h (a year) or shorter, got '@every 8761h'"),
        (
            "@every 99999999999h",
            "expected @every 8760h (a year) or shorter, got '@every 99999999999h'",
        ),
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
