"""One field of a cron expression (`*/15`, `1-5`, `jan-mar/2`, `8-dec`, `mon,wed`) into
the values it allows, read as Vixie cron reads it."""

from __future__ import annotations

import re
from dataclasses import dataclass


class CronFieldError(ValueError):
    """A field of a cron expression that is not valid; the message names it."""


@dataclass(frozen=True, kw_only=True)
class Field:
    name: str
    low: int
    high: int
    # Names accepted in place of numbers, the first one meaning `low`.
    names: tuple[str, ...] = ()
    # What the message says a value may be, e.g. "0-7 (0 and 7 are Sunday) or sun-sat".
    values: str = ""

    def expected(self) -> str:
        values = self.values or f"{self.low}-{self.high}"
        example = (
            f"{self.names[1]}-{self.names[3]}" if self.names else f"{self.low + 1}-{self.low + 3}"
        )
        return (
            f"expected {values}, a range like {example}, a step like */2 or {example}/2,"
            " or a list of those separated by commas"
        )


SECOND = Field(name="second", low=0, high=59)
MINUTE = Field(name="minute", low=0, high=59)
HOUR = Field(name="hour", low=0, high=23)
DAY = Field(name="day", low=1, high=31)
MONTH = Field(
    name="month",
    low=1,
    high=12,
    names=("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
    values="1-12 or jan-dec",
)
# 7 is Sunday too, as in Vixie cron; `values()` folds it onto 0.
WEEKDAY = Field(
    name="weekday",
    low=0,
    high=7,
    names=("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"),
    values="0-7 (0 and 7 are Sunday) or sun-sat",
)

_ITEM = re.compile(r"(?P<first>\*|[a-zA-Z0-9]+)(?:-(?P<last>[a-zA-Z0-9]+))?(?:/(?P<step>[0-9]+))?")


def parse_field(text: str, field: Field) -> frozenset[int]:
    """The values `text` allows (`*`, `N`, `N-M`, any of those `/STEP`, `N/STEP` meaning
    `N-high/STEP`, comma lists; names for months and weekdays, in any case)."""
    allowed: set[int] = set()
    for item in text.split(","):
        allowed.update(_item(item, field))
    if field is WEEKDAY and 7 in allowed:
        allowed = (allowed - {7}) | {0}
    return frozenset(allowed)


def _item(item: str, field: Field) -> range:
    match = _ITEM.fullmatch(item)
    if match is None:
        raise CronFieldError(f"invalid {field.name} {item!r}: {field.expected()}")
    first, last, step = match.group("first", "last", "step")
    if first == "*":
        if last is not None:
            raise CronFieldError(f"invalid {field.name} {item!r}: {field.expected()}")
        start, end = field.low, field.high
    else:
        start = _value(first, item, field)
        # `N/STEP` runs from N to the end of the field, as in croniter and cronsim.
        end = _value(last, item, field) if last else (field.high if step else start)
    if end < start:
        raise CronFieldError(
            f"invalid {field.name} range {item!r}: expected the smaller value first"
        )
    stride = int(step) if step is not None else 1
    if stride < 1:
        raise CronFieldError(f"invalid {field.name} step {item!r}: expected a step of 1 or more")
    return range(start, end + 1, stride)


def _value(text: str, item: str, field: Field) -> int:
    if text.lower() in field.names:
        return field.names.index(text.lower()) + field.low
    if text.isdigit() and field.low <= int(text) <= field.high:
        return int(text)
    where = "" if text == item else f" in {item!r}"
    raise CronFieldError(f"invalid {field.name} {text!r}{where}: {field.expected()}")
