"""`gaia cron next`: a schedule's next runs, computed without a gateway, checked against
cronsim (Debian cron's rules); in process with click's runner, and once as `python -m
gateway` in a subprocess."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from gateway.cli.main import cli
from tests.triggers.cron.generate import around_a_change, crontab
from tests.triggers.cron.oracle import cronsim_steps_wrongly, cronsim_ticks, shown_twice
from triggers.cron.schedule import CronSchedule, parse_schedule

ZONES = ("Europe/Berlin", "America/New_York", "Pacific/Chatham", "UTC")


def cron_next(*args: str) -> list[datetime]:
    result = CliRunner().invoke(cli, ["cron", "next", *args, "-o", "json"])
    assert result.exit_code == 0, result.output
    return [datetime.fromisoformat(text) for text in json.loads(result.output)]


def oracle(expression: str, zone: str, after: datetime, count: int) -> list[datetime]:
    return cronsim_ticks(expression, ZoneInfo(zone), after, count)


def test_the_issue_case_prints_the_days_after_the_spring_change() -> None:
    ticks = cron_next("0 0 * * *", "--timezone", "Europe/Berlin", "--after", "2024-03-31T00:00")
    assert [tick.isoformat() for tick in ticks] == [
        "2024-04-01T00:00:00+02:00",
        "2024-04-02T00:00:00+02:00",
        "2024-04-03T00:00:00+02:00",
        "2024-04-04T00:00:00+02:00",
        "2024-04-05T00:00:00+02:00",
    ]


def test_generated_schedules_match_cronsim() -> None:
    rng = random.Random(21)
    checked = 0
    while checked < 40:
        expression, zone = crontab(rng), rng.choice(ZONES)
        after = around_a_change(rng, zone)
        try:
            schedule = parse_schedule(expression, timezone=zone)
        except ValueError:
            continue
        assert isinstance(schedule, CronSchedule)
        if shown_twice(after, ZoneInfo(zone)) or (
            not schedule.by_wall_clock and cronsim_steps_wrongly(zone)
        ):
            continue  # cases test_schedule_oracle.py checks another way
        count = rng.randint(1, 8)
        got = cron_next(
            expression, "--timezone", zone, "--after", after.isoformat(), "-n", str(count)
        )
        assert got == oracle(expression, zone, after, count), (expression, zone, after)
        assert all(tick.utcoffset() == tick.astimezone(ZoneInfo(zone)).utcoffset() for tick in got)
        checked += 1


def test_after_without_an_offset_is_in_the_schedules_zone() -> None:
    local = cron_next("0 * * * *", "--timezone", "Asia/Kolkata", "--after", "2026-01-01T10:30")
    assert local[0].isoformat() == "2026-01-01T11:00:00+05:30"
    utc = cron_next("0 * * * *", "--timezone", "Asia/Kolkata", "--after", "2026-01-01T10:30Z")
    # 10:30 UTC is 16:00 there: the next whole hour of Indian time is 17:00 (11:30 UTC).
    assert utc[0].isoformat() == "2026-01-01T17:00:00+05:30"


def test_without_after_it_starts_now() -> None:
    before = datetime.now(UTC)
    [tick] = cron_next("@every 1s", "-n", "1")
    assert before < tick <= datetime.now(UTC) + timedelta(seconds=1)


def test_the_table_shows_local_and_utc_times() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "cron",
            "next",
            "30 2 * * *",
            "--timezone",
            "Europe/Berlin",
            "--after",
            "2026-03-28T12:00",
            "-n",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["#", "TIME", "UTC"]
    assert lines[2].split() == [
        "1",
        "2026-03-29T03:00:00+02:00",
        "CEST",
        "2026-03-29T01:00:00+00:00",
    ]
    assert lines[3].split() == [
        "2",
        "2026-03-30T02:30:00+02:00",
        "CEST",
        "2026-03-30T00:30:00+00:00",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["0 0 1 jan-mar-dec *"],
            "Invalid value for SCHEDULE: invalid cron expression"
            " '0 0 1 jan-mar-dec *': invalid month 'jan-mar-dec'",
        ),
        (["0 0 31 2 *"], "Invalid value for SCHEDULE: schedule '0 0 31 2 *' never fires"),
        (["@every 0s"], "Invalid value for SCHEDULE: expected @every 1s or longer"),
        (
            ["* * * * *", "--timezone", "Mars/Base"],
            "Invalid value for --timezone: unknown time"
            " zone 'Mars/Base': expected an IANA name like UTC or Europe/Berlin",
        ),
        (
            ["* * * * *", "--after", "next tuesday"],
            "Invalid value for --after: expected an ISO"
            " 8601 time like 2026-03-29T01:30:00+01:00 or 2026-03-29T01:30, got 'next tuesday'",
        ),
        (
            ["0 0 1 1 *", "--after", "9999-06-01T00:00"],
            "Invalid value for --after: '9999-06-01T00:00' is too near the ends of the calendar"
            " (years 1 to 9999) for 5 runs after it",
        ),
        (
            ["* * * * *", "--timezone", "Europe/Berlin", "--after", "0001-01-01T00:00"],
            "Invalid value for --after: '0001-01-01T00:00' is too near the ends of the calendar",
        ),
        (["* * * * *", "-n", "0"], "Invalid value for '--count' / '-n': 0 is not in the range"),
    ],
)
def test_bad_input_is_a_usage_error(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["cron", "next", *args])
    assert result.exit_code == 2
    assert f"Error: {message}" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_as_a_subprocess() -> None:
    command = [
        sys.executable,
        "-m",
        "gateway",
        "cron",
        "next",
        "*/20 2 * * *",
        "--timezone",
        "Europe/Berlin",
        "--after",
        "2026-10-25T01:50:00+02:00",
        "-n",
        "7",
        "-o",
        "json",
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    got = [datetime.fromisoformat(text) for text in json.loads(done.stdout)]
    start = datetime(2026, 10, 24, 23, 50, tzinfo=UTC)
    assert got == oracle("*/20 2 * * *", "Europe/Berlin", start, 7)
    # Run by the moment: the repeated hour twice (CEST, then CET), then the next night.
    assert [tick.strftime("%H:%M%z") for tick in got] == [
        "02:00+0200",
        "02:20+0200",
        "02:40+0200",
        "02:00+0100",
        "02:20+0100",
        "02:40+0100",
        "02:00+0100",
    ]
    bad = subprocess.run(
        [sys.executable, "-m", "gateway", "cron", "next", "61 * * * *"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert bad.returncode == 2
    assert "invalid minute '61'" in bad.stderr
