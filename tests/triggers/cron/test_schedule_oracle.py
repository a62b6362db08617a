"""triggers/cron/schedule.py against cronsim (Debian cron's rules, see oracle.py):
thousands of generated expressions, in zones with odd clock changes, from instants
around those changes. Seeded, so a failure names a case that fails again."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from cronsim import CronSim, CronSimError

from tests.triggers.cron.generate import around_a_change, crontab, scrambled
from tests.triggers.cron.oracle import (
    cronsim_next,
    cronsim_steps_wrongly,
    cronsim_ticks,
    scanned_ticks,
    shown_twice,
    transitions,
)
from triggers.cron.schedule import CronSchedule, parse_schedule, upcoming

# The zones, and ones whose clocks change at midnight (Havana, Santiago, Beirut),
# backwards in summer (Dublin, Casablanca), by two hours (Troll), or not at all.
ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Europe/London",
    "Europe/Dublin",
    "Australia/Sydney",
    "America/Santiago",
    "America/Havana",
    "Asia/Beirut",
    "Africa/Casablanca",
    "America/St_Johns",
    "Antarctica/Troll",
    "Asia/Kolkata",
    "Asia/Kathmandu",
)
NO_CHANGES = ("UTC", "Asia/Kolkata", "Asia/Kathmandu")
TICKS = 6

# One case: the text naming it, and what gaia and the oracle say; None if it does not apply.
Case = tuple[str, object, object] | None


def compare(count: int, seed: int, case: Callable[[random.Random], Case]) -> None:
    """Draw cases until `count` applied; every one must agree."""
    rng = random.Random(seed)
    checked, drawn, wrong = 0, 0, []
    while checked < count:
        drawn += 1
        assert drawn < 10 * count, f"only {checked} of {drawn} drawn cases applied"
        result = case(rng)
        if result is None:
            continue
        checked += 1
        label, got, expected = result
        if got != expected:
            wrong.append(f"{label}\n  gaia:   {got}\n  oracle: {expected}")
    assert not wrong, f"{len(wrong)} of {checked} cases differ:\n" + "\n".join(wrong[:5])


def schedule(expression: str, zone: str) -> CronSchedule | None:
    try:
        parsed = parse_schedule(expression, timezone=zone)
    except ValueError:
        return None
    assert isinstance(parsed, CronSchedule)
    return parsed


def utc(ticks: list[datetime]) -> list[str]:
    return [tick.astimezone(UTC).isoformat() for tick in ticks]


def label(expression: str, zone: str, start: datetime) -> str:
    return f"{expression!r} in {zone} from {start.astimezone(ZoneInfo(zone)).isoformat()}"


def by_moment_where_cronsim_errs(parsed: CronSchedule, zone: str) -> bool:
    return not parsed.by_wall_clock and cronsim_steps_wrongly(zone)


def test_ticks_are_debian_crons_around_clock_changes() -> None:
    def case(rng: random.Random) -> Case:
        expression, zone = crontab(rng), rng.choice(ZONES)
        parsed = schedule(expression, zone)
        start = around_a_change(rng, zone)
        if parsed is None or shown_twice(start, ZoneInfo(zone)):
            return None
        name = label(expression, zone, start)
        if by_moment_where_cronsim_errs(parsed, zone):
            until = start + timedelta(days=1)
            scanned = scanned_ticks(expression, ZoneInfo(zone), start, until, TICKS)
            got = [tick for tick in upcoming(parsed, start, TICKS) if tick <= until]
            return name, utc(got), utc(scanned)
        expected = cronsim_ticks(expression, ZoneInfo(zone), start, TICKS)
        return name, utc(upcoming(parsed, start, TICKS)), utc(expected)

    compare(1500, seed=11, case=case)


def test_next_after_any_instant_even_in_a_repeated_hour() -> None:
    def case(rng: random.Random) -> Case:
        expression, zone = crontab(rng), rng.choice(ZONES)
        parsed = schedule(expression, zone)
        microseconds = rng.choice((0, 1, 999_999))
        after = around_a_change(rng, zone) + timedelta(microseconds=microseconds)
        if parsed is None:
            return None
        if by_moment_where_cronsim_errs(parsed, zone):
            until = after + timedelta(days=1)
            scanned = scanned_ticks(expression, ZoneInfo(zone), after, until, 1)
            if not scanned:
                return None
            expected = scanned[0]
        else:
            expected = cronsim_next(expression, ZoneInfo(zone), after)
        got = parsed.next(after)
        return label(expression, zone, after), utc([got]), utc([expected])

    compare(600, seed=12, case=case)


def test_a_seconds_field_of_0_changes_nothing() -> None:
    # cronsim reads 6 fields without Debian's DST rules (Debian has no seconds), so the
    # 6-field form is checked by reduction to the 5-field one, which cronsim checks above.
    def case(rng: random.Random) -> Case:
        expression, zone = crontab(rng), rng.choice(ZONES)
        five, six = schedule(expression, zone), schedule(f"0 {expression}", zone)
        start = around_a_change(rng, zone)
        if five is None or six is None:
            return None
        got, expected = upcoming(six, start, TICKS), upcoming(five, start, TICKS)
        return label(f"0 {expression}", zone, start), utc(got), utc(expected)

    compare(400, seed=13, case=case)


def test_seconds_are_read_as_cronsim_reads_them() -> None:
    # Where cronsim's 6-field rules and Debian's agree: no clock change, or a schedule
    # run by the moment in a zone whose clocks change on the hour.
    def case(rng: random.Random) -> Case:
        expression = crontab(rng, seconds=True)
        parsed = schedule(expression, "UTC")
        if parsed is None:
            return None
        zone = rng.choice(NO_CHANGES if parsed.by_wall_clock else ("Europe/Berlin", "UTC"))
        start = around_a_change(rng, zone)
        parsed = schedule(expression, zone)
        assert parsed is not None
        expected = cronsim_ticks(expression, ZoneInfo(zone), start, TICKS)
        return label(expression, zone, start), utc(upcoming(parsed, start, TICKS)), utc(expected)

    compare(400, seed=14, case=case)


def test_accepts_exactly_what_cronsim_accepts() -> None:
    def case(rng: random.Random) -> Case:
        expression = " ".join(scrambled(rng) for _ in range(5))
        try:
            CronSim(expression, datetime(2026, 1, 1))
        except CronSimError:
            cronsim_accepts = False
        else:
            cronsim_accepts = True
        try:
            parse_schedule(expression)
        except ValueError as exc:
            # Rejected with the expression named, and why.
            assert str(exc).startswith(
                (f"invalid cron expression {expression!r}: ", f"schedule {expression!r}")
            ), exc
            return repr(expression), False, cronsim_accepts
        return repr(expression), True, cronsim_accepts

    compare(3000, seed=15, case=case)


@pytest.mark.parametrize("zone", ZONES)
def test_the_generated_starts_reach_the_clock_changes(zone: str) -> None:
    # A comparison above that never met a change would prove nothing about DST.
    changes = transitions(zone)
    if zone in NO_CHANGES:
        assert changes == ()
    else:
        assert len(changes) >= 6, changes
