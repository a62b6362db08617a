from __future__ import annotations

import math

import pytest

from configkit.units import format_duration, format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("10s", 10.0),
        ("500ms", 0.5),
        ("1.5m", 90.0),
        ("5m", 300.0),
        ("1h", 3600.0),
        ("1h30m", 5400.0),
        ("2m30s500ms", 150.5),
        (".5s", 0.5),
        (" 10s ", 10.0),
        ("10", 10.0),
        ("0", 0.0),
        ("0s", 0.0),
        (10, 10.0),
        (2.5, 2.5),
        (0, 0.0),
    ],
)
def test_parse_duration(text: str | int | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_equal_durations_spelled_differently_parse_equal() -> None:
    # Revision digests hash parsed values: one setting must not give two floats.
    assert parse_duration("100ms") == parse_duration("0.1s") == parse_duration(0.1)
    assert parse_duration("0.3s") == parse_duration("300ms")


@pytest.mark.parametrize("text", ["abc", "", "10 s", "10S", "5x", "1e3", "s", "1h-5m", "nan"])
def test_parse_duration_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_duration(text)
    assert str(info.value) == f"expected a duration like 500ms, 10s, 5m or 1h, got {text!r}"


@pytest.mark.parametrize("value", ["-5s", "-1", -1, -0.5])
def test_parse_duration_rejects_negative(value: str | int | float) -> None:
    with pytest.raises(ValueError, match="expected a non-negative duration like 500ms"):
        parse_duration(value)


@pytest.mark.parametrize("value", [True, math.inf, math.nan, None, [1]])
def test_parse_duration_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("256Mi", 256 * 1024**2),
        ("1Gi", 1024**3),
        ("64Ki", 64 * 1024),
        ("1K", 1000),
        ("2M", 2_000_000),
        ("1G", 1_000_000_000),
        ("1.5Gi", 1536 * 1024**2),
        ("1000", 1000),
        (4096, 4096),
        ("0", 0),
        (0, 0),
    ],
)
def test_parse_size(text: str | int, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["abc", "", "256MB", "256mi", "1 Gi", "Mi", "1Ti"])
def test_parse_size_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_size(text)
    assert str(info.value) == f"expected a size like 512Mi, 1Gi or 1000000 (bytes), got {text!r}"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-5Mi", "expected a non-negative size"),
        (-1, "expected a non-negative size"),
        ("0.1Ki", "expected a whole number of bytes, got '0.1Ki'"),
        (1.5, "expected a size like"),
        (True, "expected a size like"),
    ],
)
def test_parse_size_rejects(value: str | int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_size(value)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.5, "500ms"),
        (0.001, "1ms"),
        (10, "10s"),
        (1.25, "1.25s"),
        (90, "1m30s"),
        (300, "5m"),
        (3600, "1h"),
        (5400.5, "1h30m0.5s"),
    ],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0"),
        (1000, "1K"),
        (1024, "1Ki"),
        (256 * 1024**2, "256Mi"),
        (1536 * 1024**2, "1536Mi"),
        (3 * 1024**3, "3Gi"),
        (2_000_000, "2M"),
        (1500, "1500"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text
    assert parse_size(text) == size


@pytest.mark.parametrize("value", [-1, math.inf, True])
def test_format_duration_rejects(value: float) -> None:
    with pytest.raises(ValueError, match="number of seconds"):
        format_duration(value)


@pytest.mark.parametrize("value", [-1, 1.5, True])
def test_format_size_rejects(value: int) -> None:
    with pytest.raises(ValueError, match="number of bytes"):
        format_size(value)
