"""triggers/cron/fields.py: one crontab field into the values it allows, as Vixie cron
reads it (test_schedule_oracle.py compares thousands of generated fields with cronsim)."""

from __future__ import annotations

import pytest

from triggers.cron.fields import (
    DAY,
    HOUR,
    MINUTE,
    MONTH,
    WEEKDAY,
    CronFieldError,
    Field,
    parse_field,
)


@pytest.mark.parametrize(
    ("text", "months"),
    [
        # Issue 11 (2): names in ranges were misread, silently.
        ("jan-11", range(1, 12)),
        ("jan-dec/2", range(1, 13, 2)),
        ("JAN-MAR/2", [1, 3]),
        ("Feb", [2]),
        # Issue 11 (3): names mixed with numbers.
        ("8-dec", range(8, 13)),
        ("1-feb,oct", [1, 2, 10]),
        ("*", range(1, 13)),
        ("*/5", [1, 6, 11]),
        ("jun/4", [6, 10]),  # from June to the end of the year, every 4th month
    ],
)
def test_months(text: str, months: range | list[int]) -> None:
    assert parse_field(text, MONTH) == frozenset(months)


@pytest.mark.parametrize(
    ("field", "text", "values"),
    [
        # Issue 11 (3): a step larger than its range keeps the range's first value.
        (HOUR, "7-8/2", [7]),
        (MINUTE, "*/45", [0, 45]),
        (MINUTE, "*/100", [0]),
        (MINUTE, "10-20/5,59", [10, 15, 20, 59]),
        (MINUTE, "10-50/20", [10, 30, 50]),
        (MINUTE, "5/15", [5, 20, 35, 50]),
        (MINUTE, "05", [5]),
        (DAY, "*/10", [1, 11, 21, 31]),
        (DAY, "28/2", [28, 30]),
        (WEEKDAY, "7", [0]),
        (WEEKDAY, "5-7", [0, 5, 6]),
        (WEEKDAY, "mon-5", [1, 2, 3, 4, 5]),
        (WEEKDAY, "*/2", [0, 2, 4, 6]),
        (WEEKDAY, "SAT,sun", [0, 6]),
    ],
)
def test_values(field: Field, text: str, values: list[int]) -> None:
    assert parse_field(text, field) == frozenset(values)


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        (MONTH, "jan-mar-dec", "invalid month 'jan-mar-dec': expected 1-12 or jan-dec"),
        (MONTH, "0", "invalid month '0': expected 1-12 or jan-dec"),
        (MONTH, "dec-jan", "invalid month range 'dec-jan': expected the smaller value first"),
        (MONTH, "january", "invalid month 'january': expected 1-12 or jan-dec"),
        (HOUR, "7-8/0", "invalid hour step '7-8/0': expected a step of 1 or more"),
        (HOUR, "7-8/-1", "invalid hour '7-8/-1': expected 0-23"),
        (WEEKDAY, "sat-sun", "invalid weekday range 'sat-sun': expected the smaller value first"),
        (WEEKDAY, "mon-8", "invalid weekday '8' in 'mon-8': expected 0-7 (0 and 7 are Sunday)"),
        (MINUTE, "jan", "invalid minute 'jan': expected 0-59"),
        (MINUTE, "", "invalid minute '': expected 0-59"),
        (MINUTE, "1-", "invalid minute '1-': expected 0-59"),
        (MINUTE, "?", "invalid minute '?': expected 0-59"),
    ],
)
def test_bad_fields_say_which_and_why(field: Field, text: str, message: str) -> None:
    with pytest.raises(CronFieldError) as info:
        parse_field(text, field)
    assert str(info.value).startswith(message)
