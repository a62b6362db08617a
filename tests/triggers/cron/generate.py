"""Seeded generators of crontab expressions and of instants around clock changes, for
the property tests (fast enough to draw thousands of cases in a second)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from tests.triggers.cron.oracle import transitions

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _value(rng: random.Random, low: int, high: int, names: tuple[str, ...]) -> tuple[int, str]:
    number = rng.randint(low, high)
    if names and number - low < len(names) and rng.random() < 0.4:
        name = names[number - low]
        return number, rng.choice([name, name.upper(), name.title()])
    return number, str(number)


def field(rng: random.Random, low: int, high: int, names: tuple[str, ...] = ()) -> str:
    """A crontab field: `*`, `*/N`, or a list of values, ranges, `A-B/N` and `A/N`;
    steps up to beyond the field's range, names in any case."""
    kind = rng.random()
    if kind < 0.25:
        return "*"
    if kind < 0.35:
        return f"*/{rng.randint(1, high - low + 3)}"
    items = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        first, first_text = _value(rng, low, high, names)
        shape = rng.choice(("value", "range", "stepped", "from"))
        if shape == "value" or first == high:
            items.append(first_text)
        elif shape == "from":
            items.append(f"{first_text}/{rng.randint(1, high - low + 2)}")
        else:
            # cronsim reads `N-N/S` as `N-max/S`: ranges here end after they start.
            _, last_text = _value(rng, first + 1, high, names[first + 1 - low :])
            step = f"/{rng.randint(1, high - low + 2)}" if shape == "stepped" else ""
            items.append(f"{first_text}-{last_text}{step}")
    return ",".join(items)


def crontab(rng: random.Random, *, seconds: bool = False) -> str:
    parts = [
        field(rng, 0, 59),
        field(rng, 0, 23),
        field(rng, 1, 31),
        field(rng, 1, 12, MONTHS),
        field(rng, 0, 7, WEEKDAYS),
    ]
    if seconds:
        parts.insert(0, field(rng, 0, 59))
    return " ".join(parts)


def scrambled(rng: random.Random) -> str:
    """A field as people mistype one: digits, names, stars, ranges, steps and commas
    mixed (no L, W or #: cronsim's Quartz extensions, which gaia does not take)."""
    if rng.random() < 0.5:
        return field(rng, 0, 12, MONTHS) if rng.random() < 0.5 else field(rng, 0, 7, WEEKDAYS)
    alphabet = "0123456789*/-,*/-,janfebmrpyugsoctvdhi"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8)))


def around_a_change(rng: random.Random, zone: str) -> datetime:
    """An instant within 3 hours (or, one time in three, 2 days) of one of the zone's
    clock changes in 2024 to 2027, at a whole second."""
    changes = transitions(zone)
    base = rng.choice(changes) if changes else datetime(2025, 6, 1, tzinfo=UTC)
    spread = 2 * 86400 if rng.random() < 1 / 3 else 3 * 3600
    return base + timedelta(seconds=rng.randint(-spread, spread))
