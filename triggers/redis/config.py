"""What one Redis Streams trigger reads and how it delivers (gaia.yaml `- redis: {...}`).

Each key is declared once here, with its default and its check; the store keeps
`to_dict()` and the gateway rebuilds the model with `from_dict()`.

Names. A stream (`stream`, `dead_letter`, `reply_stream`) is 1 to 256 letters, digits
or `. _ - : / { }` (a Redis key as people write them: `orders`, `shop:orders:eu`,
`{shop}:orders`). A consumer group or consumer is 1 to 128 letters, digits or
`. _ - : @`, so that the default consumer, the replica name `host:admin-port`, fits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import ValidationInfo, field_validator

from configkit.leaves import choice, durations, optional, parsed, redis_url, whole_numbers
from configkit.model import ConfigModel, key
from configkit.words import describe
from triggers.retrying import BackoffConfig, Retries

Ordering = Literal["stream", "none"]
Start = Literal["latest", "earliest"]
ORDERINGS: tuple[Ordering, ...] = ("stream", "none")
STARTS: tuple[Start, ...] = ("latest", "earliest")

MAX_IN_FLIGHT = 10_000
MAX_CLAIM_IDLE_S = 86_400.0

_STREAM = re.compile(r"[A-Za-z0-9._:/{}-]{1,256}")
_NAME = re.compile(r"[A-Za-z0-9._:@-]{1,128}")


def _stream(raw: object) -> str:
    if not isinstance(raw, str) or not _STREAM.fullmatch(raw):
        raise ValueError(
            "expected a stream name of 1 to 256 letters, digits or '._-:/{}',"
            f" got {describe(raw)}"
        )
    return raw


def _name(what: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if not isinstance(raw, str) or not _NAME.fullmatch(raw):
            raise ValueError(
                f"expected a {what} of 1 to 128 letters, digits or '._-:@', got {describe(raw)}"
            )
        return raw

    return parse


StreamName = Annotated[str, parsed(_stream)]
OptionalStream = Annotated[str | None, parsed(optional(_stream))]


class RedisTriggerConfig(ConfigModel):
    # No credentials: trigger specs are stored and shown as they are.
    url: Annotated[str, parsed(redis_url)]
    stream: StreamName
    # None: gaia-FN, see group_for.
    group: Annotated[str | None, parsed(optional(_name("consumer group name")))] = None
    # None: the replica's name, see consumer_for.
    consumer: Annotated[str | None, parsed(optional(_name("consumer name")))] = None
    # Where a group created now begins: `$` or `0`.
    start: Annotated[Start, parsed(choice(STARTS))] = "latest"
    ordering: Annotated[Ordering, parsed(choice(ORDERINGS))] = "stream"
    max_in_flight: Annotated[int, parsed(whole_numbers(1, MAX_IN_FLIGHT))] = 64
    retries: Retries = 2
    backoff: BackoffConfig = BackoffConfig()
    dead_letter: OptionalStream = None
    reply_stream: OptionalStream = None
    # A pending entry idle this long (its consumer died or hangs) is taken over.
    claim_idle_s: Annotated[float, parsed(durations(MAX_CLAIM_IDLE_S))] = key(
        "claim_idle", default=30.0
    )

    @field_validator("dead_letter", "reply_stream", mode="after")
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
