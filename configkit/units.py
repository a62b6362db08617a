"""Durations (`500ms`, `10s`, `1.5m`, `1h30m`) and sizes (`256Mi`, `1G`) as users write them.

Parsing goes through Decimal so that equal quantities written differently (`100ms`,
`0.1s`) give the same float: revision digests hash the parsed values, and two spellings
of one setting must not make two revisions.
"""

from __future__ import annotations

import re
from decimal import Decimal

# What a value should look like, for messages: "expected a {DURATION_KIND}, got 'x'".
DURATION_KIND = "duration like 500ms, 10s, 5m or 1h"
SIZE_KIND = "size like 512Mi, 1Gi or 1000000 (bytes)"

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)"

_DURATION_UNITS = {"ms": Decimal("0.001"), "s": Decimal(1), "m": Decimal(60), "h": Decimal(3600)}
_DURATION_PART = re.compile(rf"({_NUMBER})(ms|s|m|h)")
_DURATION = re.compile(rf"(?:{_NUMBER}(?:ms|s|m|h))+|{_NUMBER}")

_SIZE_UNITS = {"K": 1000, "M": 1000**2, "G": 1000**3, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3}
_SIZE = re.compile(rf"({_NUMBER})(Ki|Mi|Gi|K|M|G)?")


def parse_duration(value: str | int | float) -> float:
    """Seconds in `value`: a number (seconds), or number+unit parts such as `1h30m`.

    Zero is accepted, since whether it means anything is the caller's call; negative,
    infinite and NaN values are rejected.
    """
    if isinstance(value, str):
        text = value.strip()
        amount = _parse_text(text, _DURATION, DURATION_KIND, value)
        if amount is None:
            amount = sum(
                (Decimal(n) * _DURATION_UNITS[unit] for n, unit in _DURATION_PART.findall(text)),
                Decimal(0),
            )
    else:
        amount = _number(value, DURATION_KIND)
    return float(amount)


def parse_size(value: str | int) -> int:
    """Bytes in `value`: an integer (bytes), or a number with a K/M/G (powers of 1000)
    or Ki/Mi/Gi (powers of 1024) suffix. Zero is accepted; negative and fractional
    byte counts are rejected."""
    if isinstance(value, str):
        text = value.strip()
        amount = _parse_text(text, _SIZE, SIZE_KIND, value)
        if amount is None:
            match = _SIZE.fullmatch(text)
            assert match is not None  # _parse_text checked the syntax
            number, unit = match.groups()
            amount = Decimal(number) * _SIZE_UNITS[unit]
    else:
        if isinstance(value, float):
            raise ValueError(f"expected a {SIZE_KIND}, got {value!r}")
        amount = _number(value, SIZE_KIND)
    if amount != amount.to_integral_value():
        raise ValueError(f"expected a whole number of bytes, got {value!r}")
    return int(amount)


def format_duration(seconds: float) -> str:
    """The shortest exact spelling parse_duration reads back: `500ms`, `10s`, `1m30s`."""
    amount = _number(seconds, "number of seconds")
    if amount == 0:
        return "0s"
    if amount < 1:
        return f"{_plain(amount * 1000)}ms"
    hours, rest = divmod(amount, 3600)
    minutes, secs = divmod(rest, 60)
    return "".join(
        f"{_plain(n)}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n
    )


def format_size(size: int) -> str:
    """The largest unit dividing `size` exactly, binary first: `256Mi`, `1G`, `1500`."""
    if isinstance(size, float):
        raise ValueError(f"expected a whole number of bytes, got {size!r}")
    _number(size, "number of bytes")
    for unit in ("Gi", "G", "Mi", "M", "Ki", "K"):
        if size and size % _SIZE_UNITS[unit] == 0:
            return f"{size // _SIZE_UNITS[unit]}{unit}"
    return str(size)


def _parse_text(text: str, syntax: re.Pattern[str], kind: str, value: str) -> Decimal | None:
    """Check `text` against `syntax`; return its value if it is a bare number, None if
    it has units for the caller to apply."""
    if text.startswith("-") and syntax.fullmatch(text[1:]):
        raise ValueError(f"expected a non-negative {kind}, got {value!r}")
    if not syntax.fullmatch(text):
        raise ValueError(f"expected a {kind}, got {value!r}")
    return Decimal(text) if re.fullmatch(_NUMBER, text) else None


def _number(value: object, kind: str) -> Decimal:
    """A non-negative finite int or float as a Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"expected a {kind}, got {value!r}")
    # repr is the shortest decimal that round-trips, so 0.1 stays 0.1, not 0.1000000000000000055.
    amount = Decimal(repr(value))
    if not amount.is_finite():
        raise ValueError(f"expected a {kind}, got {value!r}")
    if amount < 0:
        raise ValueError(f"expected a non-negative {kind}, got {value!r}")
    return amount


def _plain(amount: Decimal) -> str:
    """`90`, `1.5`: fixed-point, without an exponent or trailing zeros."""
    return format(amount.normalize(), "f")
