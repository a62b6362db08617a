"""Leaf parsers: each takes a raw YAML/JSON value and returns it parsed, or raises
ValueError("expected ..., got ..."). Config models put them on fields with `parsed`."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from pydantic import BeforeValidator

from configkit.units import (
    DURATION_KIND,
    SIZE_KIND,
    format_duration,
    parse_duration,
    parse_size,
)
from configkit.words import describe, listing

T = TypeVar("T")

# A host name, IPv4 address or bracketed IPv6 address, and a port.
HOST_PORT = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})"
# No credentials: trigger specs are stored and shown as they are.
_REDIS_URL = re.compile(rf"rediss?://{HOST_PORT}(?:/\d+)?")


def parsed(parse: Callable[[Any], T]) -> Any:
    """A field type whose raw value `parse` checks and converts:
    `Annotated[int, parsed(retries)]`."""
    return BeforeValidator(parse)


def text(raw: object) -> str:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"expected a non-empty string, got {describe(raw)}")
    return raw


def boolean(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {describe(raw)}")
    return raw


def whole_number(raw: object, *, minimum: int, maximum: int | None = None) -> int:
    limits = f"from {minimum} to {maximum}" if maximum is not None else f"of at least {minimum}"
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"expected a whole number {limits}, got {describe(raw)}")
    if raw < minimum or (maximum is not None and raw > maximum):
        raise ValueError(f"expected a whole number {limits}, got {raw}")
    return raw


def whole_numbers(minimum: int, maximum: int | None = None) -> Callable[[object], int]:
    return lambda raw: whole_number(raw, minimum=minimum, maximum=maximum)


def duration(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise ValueError(f"expected a {DURATION_KIND}, got {describe(raw)}")
    return parse_duration(raw)


def positive_duration(raw: object) -> float:
    seconds = duration(raw)
    if seconds <= 0:
        raise ValueError(f"expected a duration longer than 0s, got {describe(raw)}")
    return seconds


def duration_within(raw: object, maximum: float, *, minimum: float | None = None) -> float:
    """A duration up to `maximum`: from `minimum` on, or longer than 0s without one."""
    seconds = duration(raw)
    if minimum is not None:
        within = minimum <= seconds <= maximum
        limits = f"from {format_duration(minimum)} to {format_duration(maximum)}"
    else:
        within = 0 < seconds <= maximum
        limits = f"longer than 0s, at most {format_duration(maximum)}"
    if not within:
        raise ValueError(f"expected a duration {limits}, got {describe(raw)}")
    return seconds


def durations(maximum: float, *, minimum: float | None = None) -> Callable[[object], float]:
    return lambda raw: duration_within(raw, maximum, minimum=minimum)


def size(raw: object) -> int:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise ValueError(f"expected a {SIZE_KIND}, got {describe(raw)}")
    return parse_size(raw)


def choice(options: Sequence[T]) -> Callable[[object], T]:
    def parse(raw: object) -> T:
        for option in options:
            if raw == option:
                return option
        raise ValueError(f"expected {listing([str(o) for o in options])}, got {describe(raw)}")

    return parse


def optional(parse: Callable[[object], T]) -> Callable[[object], T | None]:
    """`parse`, with None meaning the key's default of nothing (as in stored data)."""
    return lambda raw: None if raw is None else parse(raw)


def addresses(
    raw: object, pattern: re.Pattern[str], normal: Callable[[re.Match[str]], str], what: str
) -> tuple[str, ...]:
    """Servers: one address, a comma-separated string of them, or a list of them, each
    matching `pattern` (with a `port` group) and written as `normal` gives it; repeats
    are dropped. `what` describes one address."""
    expected = (
        f"expected {what} (port 1 to 65535), a comma-separated string of them or a list of them"
    )
    if isinstance(raw, str):
        items: list[object] = [part.strip() for part in raw.split(",")]
    elif isinstance(raw, list | tuple) and raw:
        items = list(raw)
    else:
        raise ValueError(f"{expected}, got {describe(raw)}")
    found: list[str] = []
    for item in items:
        match = pattern.fullmatch(item) if isinstance(item, str) else None
        if match is None or not 1 <= int(match["port"]) <= 65535:
            got = describe(item) if item != "" else "an empty entry"
            raise ValueError(f"{expected}, got {got}")
        address = normal(match)
        if address not in found:
            found.append(address)
    return tuple(found)


def redis_url(raw: object) -> str:
    match = _REDIS_URL.fullmatch(raw) if isinstance(raw, str) else None
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError(
            "expected a Redis URL redis://host:port or redis://host:port/db (rediss:// for"
            " TLS; port 1 to 65535, no credentials) like redis://127.0.0.1:6379/0,"
            f" got {describe(raw)}"
        )
    return match[0]


Text = Annotated[str, parsed(text)]
Boolean = Annotated[bool, parsed(boolean)]
PositiveDuration = Annotated[float, parsed(positive_duration)]
