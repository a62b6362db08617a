"""What one Redis Streams trigger reads and how it delivers (gaia.yaml `- redis: {...}`).

Every key's default, bounds and validation are written once, here; pydantic reports
each bad key by its name (`loc`) with a message saying what is expected. `to_dict()`
is the stored form (durations in seconds) and `from_dict()` reads it back, as it reads
the YAML mapping.

Names. A stream (`stream`, `dead_letter`, `reply_stream`) is 1 to 256 letters, digits
or `. _ - : / { }` (a Redis key as people write them: `orders`, `shop:orders:eu`,
`{shop}:orders`). A consumer group or consumer is 1 to 128 letters, digits or
`. _ - : @`, so that the default consumer, the replica name `host:admin-port`, fits.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

Ordering = Literal["stream", "none"]
Start = Literal["latest", "earliest"]

MAX_IN_FLIGHT = 10_000
MAX_RETRIES = 100
MAX_CLAIM_IDLE_S = 86_400.0
MAX_BACKOFF_S = 3_600.0

# No credentials: trigger specs are stored and shown as they are (as the cron `lease`).
_URL = re.compile(r"rediss?://(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(?P<port>\d{1,5})(?:/\d+)?")
_STREAM = re.compile(r"[A-Za-z0-9._:/{}-]{1,256}")
_NAME = re.compile(r"[A-Za-z0-9._:@-]{1,128}")
_DURATION_UNITS = {"ms": Decimal("0.001"), "s": Decimal(1), "m": Decimal(60), "h": Decimal(3600)}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)?")


def _seconds(raw: object) -> object:
    """`100ms`, `30s`, `5m`, `1h` or a number of seconds, as seconds. Local rather than
    gateway.units.parse_duration: triggers/ does not import gateway/. Decimal, so that
    `100ms` and `0.1s` store the same float."""
    if isinstance(raw, bool):
        raise ValueError(f"expected a duration like 100ms, 30s, 5m or 1h, got {raw!r}")
    if isinstance(raw, int | float):
        return raw
    match = _DURATION.fullmatch(raw.strip()) if isinstance(raw, str) else None
    if match is None:
        raise ValueError(f"expected a duration like 100ms, 30s, 5m or 1h, got {raw!r}")
    number, unit = match.groups()
    try:
        return float(Decimal(number) * _DURATION_UNITS[unit or "s"])
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only decimals
        raise ValueError(f"expected a duration, got {raw!r}") from exc


def _url(raw: str) -> str:
    match = _URL.fullmatch(raw)
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError(
            "expected a Redis URL redis://host:port or redis://host:port/db (rediss:// for"
            f" TLS; port 1 to 65535, no credentials) like redis://127.0.0.1:6379/0, got {raw!r}"
        )
    return raw


def _stream(raw: str) -> str:
    if not _STREAM.fullmatch(raw):
        raise ValueError(
            f"expected a stream name of 1 to 256 letters, digits or '._-:/{{}}', got {raw!r}"
        )
    return raw


def _name(raw: str) -> str:
    if not _NAME.fullmatch(raw):
        raise ValueError(f"expected a name of 1 to 128 letters, digits or '._-:@', got {raw!r}")
    return raw


Seconds = Annotated[float, BeforeValidator(_seconds)]
StreamName = Annotated[str, AfterValidator(_stream)]
Name = Annotated[str, AfterValidator(_name)]
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class BackoffConfig(BaseModel):
    """The wait before a retry: full jitter under `initial` doubled per attempt, at most
    `max`. A stuck entry is tried again after `max`."""

    model_config = _FROZEN

    initial: Seconds = Field(default=0.1, gt=0, le=MAX_BACKOFF_S)
    max: Seconds = Field(default=30.0, gt=0, le=MAX_BACKOFF_S)

    @field_validator("max")
    @classmethod
    def _not_below_initial(cls, longest: float, info: ValidationInfo) -> float:
        initial = info.data.get("initial")  # absent when initial itself was bad
        if initial is not None and longest < initial:
            raise ValueError(
                f"expected initial at most max, got initial {initial}s and max {longest}s"
            )
        return longest


class RedisTriggerConfig(BaseModel):
    model_config = _FROZEN

    url: Annotated[str, AfterValidator(_url)]
    stream: StreamName
    group: Name | None = None  # None: gaia-FN, see group_for
    consumer: Name | None = None  # None: the replica's name, see consumer_for
    start: Start = "latest"  # where a group created now begins: `$` or `0`
    ordering: Ordering = "stream"
    max_in_flight: int = Field(default=64, ge=1, le=MAX_IN_FLIGHT, strict=True)
    retries: int = Field(default=2, ge=0, le=MAX_RETRIES, strict=True)  # after the first attempt
    backoff: BackoffConfig = BackoffConfig()
    dead_letter: StreamName | None = None
    reply_stream: StreamName | None = None
    # A pending entry idle this long (its consumer died or hangs) is taken over.
    claim_idle: Seconds = Field(default=30.0, gt=0, le=MAX_CLAIM_IDLE_S)

    @field_validator("dead_letter", "reply_stream")
    @classmethod
    def _not_the_input(cls, output: str | None, info: ValidationInfo) -> str | None:
        if output is not None and output == info.data.get("stream"):
            raise ValueError(
                f"{output!r} is the stream the trigger reads, so the trigger would feed"
                " itself its own output: expected another stream"
            )
        return output

    def group_for(self, function: str) -> str:
        return self.group or f"gaia-{function}"

    def consumer_for(self, replica: str) -> str:
        return self.consumer or replica

    @property
    def max_attempts(self) -> int:
        return self.retries + 1

    @property
    def start_id(self) -> str:
        return "$" if self.start == "latest" else "0"

    def to_dict(self) -> dict[str, object]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> RedisTriggerConfig:
        return cls.model_validate(data)
