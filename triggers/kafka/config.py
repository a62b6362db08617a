"""What one Kafka trigger consumes and how it delivers (gaia.yaml `- kafka: {...}`).

Each key is declared once here, with its default and its check; the store keeps
`to_dict()` and the gateway rebuilds the model with `from_dict()`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal, Self

from pydantic import Field, ValidationInfo, field_validator, model_validator

from configkit.issues import Issues
from configkit.leaves import (
    HOST_PORT,
    addresses,
    choice,
    durations,
    optional,
    parsed,
    whole_number,
)
from configkit.leaves import whole_numbers as numbers
from configkit.model import ConfigModel, key
from configkit.words import describe
from triggers.retrying import BackoffConfig, Retries

Ordering = Literal["partition", "key", "none"]
StartOffset = Literal["earliest", "latest"]
ORDERINGS: tuple[Ordering, ...] = ("partition", "key", "none")
START_OFFSETS: tuple[StartOffset, ...] = ("earliest", "latest")
MAX_IN_FLIGHT = 10_000
MAX_BATCH = 10_000

_BROKER = re.compile(HOST_PORT)
# Kafka's own rule for topic names (and gaia's for consumer group names).
_KAFKA_NAME = re.compile(r"[a-zA-Z0-9._-]{1,249}")


def _kafka_name(raw: object, what: str) -> str:
    expected = f"expected a {what} of 1 to 249 letters, digits, '.', '_' or '-'"
    if not isinstance(raw, str) or not _KAFKA_NAME.fullmatch(raw):
        raise ValueError(f"{expected}, got {describe(raw)}")
    if raw in (".", ".."):
        raise ValueError(f"{expected}, other than '.' or '..', got {raw!r}")
    return raw


def topic_name(raw: object) -> str:
    return _kafka_name(raw, "topic name")


def _group(raw: object) -> str:
    return _kafka_name(raw, "consumer group name")


def broker_list(raw: object) -> tuple[str, ...]:
    """Bootstrap servers: `host:port`, `a:9092,b:9092`, or a list of `host:port`."""
    return addresses(raw, _BROKER, lambda match: match[0], "host:port like 127.0.0.1:9092")


def _topics(raw: object) -> tuple[str, ...]:
    """A non-empty list of distinct topic names; () when only `topic` is given."""
    if raw is None:
        return ()
    if not isinstance(raw, list | tuple) or not raw:
        raise ValueError(f"expected a non-empty list of topic names, got {describe(raw)}")
    topics: list[str] = []
    issues: list[tuple[str, str]] = []
    for position, item in enumerate(raw):
        try:
            name = topic_name(item)
        except ValueError as exc:
            issues.append((f"[{position}]", str(exc)))
            continue
        if name in topics:
            issues.append(
                (f"[{position}]", f"topic {name!r} is listed twice: expected distinct topics")
            )
        else:
            topics.append(name)
    if issues:
        raise Issues(*issues)
    return tuple(topics)


def _batch_size(raw: object) -> int:
    if raw is None:
        raise ValueError(
            f"required: expected a whole number from 1 to {MAX_BATCH}"
            " (messages per invocation), got nothing"
        )
    return whole_number(raw, minimum=1, maximum=MAX_BATCH)


class Batching(ConfigModel):
    """Up to `size` messages of one partition, or what arrived within `window_s`."""

    size: Annotated[int, parsed(_batch_size)]
    window_s: Annotated[float, parsed(durations(60.0))] = key("window", default=0.05)


class KafkaTriggerConfig(ConfigModel):
    brokers: Annotated[tuple[str, ...], parsed(broker_list)]
    # `topic: orders` is short for `topics: [orders]`; the model keeps `topics`.
    topic: Annotated[str | None, parsed(optional(topic_name))] = Field(default=None, exclude=True)
    topics: Annotated[tuple[str, ...], parsed(_topics)] = Field(default=None, validate_default=True)
    # None: derived from the function and the topics, so reordering triggers in the
    # file does not move a consumer group back to its start offset.
    group: Annotated[str | None, parsed(optional(_group))] = None
    start: Annotated[StartOffset, parsed(choice(START_OFFSETS))] = "latest"
    ordering: Annotated[Ordering, parsed(choice(ORDERINGS))] = "partition"
    max_in_flight: Annotated[int, parsed(numbers(1, MAX_IN_FLIGHT))] = 64
    # None: one message per invocation.
    batch: Batching | None = None
    retries: Retries = 2
    backoff: BackoffConfig = BackoffConfig()
    dead_letter: Annotated[str | None, parsed(optional(topic_name))] = None
    response_topic: Annotated[str | None, parsed(optional(topic_name))] = None
    # How long the broker waits for a silent member before handing its partitions on.
    session_timeout_s: Annotated[float, parsed(durations(3600.0, minimum=1.0))] = key(
        "session_timeout", default=10.0
    )

    @field_validator("topics", mode="after")
    @classmethod
    def _one_of_topic_or_topics(
        cls, topics: tuple[str, ...], info: ValidationInfo
    ) -> tuple[str, ...]:
        if "topic" not in info.data:
            return topics  # `topic` has an issue of its own
        single = info.data["topic"]
        if topics and single is not None:
            raise Issues(("", "expected one of topic or topics, got topic and topics"), up=1)
        if not topics and single is None:
            try:
                topic_name(None)
            except ValueError as exc:
                raise Issues(("topic", str(exc)), up=1) from None
        return topics or (single,)

    @field_validator("dead_letter", "response_topic", mode="after")
    @classmethod
    def _not_consumed(cls, output: str | None, info: ValidationInfo) -> str | None:
        if output is not None and output in (info.data.get("topics") or ()):
            raise ValueError(
                f"topic {output!r} is consumed by this trigger, so it would feed the"
                " trigger its own output: expected a topic the trigger does not consume"
            )
        return output

    @model_validator(mode="after")
    def _topics_only(self) -> Self:
        # `topic` was a way to write `topics`; equal configs compare equal however written.
        self.__dict__["topic"] = None
        return self

    def group_for(self, function: str) -> str:
        return self.group or f"gaia-{function}-{'+'.join(sorted(self.topics))}"
