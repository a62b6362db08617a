"""What one NATS trigger subscribes to and how it delivers (gaia.yaml `- nats: {...}`).

Each key is declared once here, with its default and its check; the store keeps
`to_dict()` and the gateway rebuilds the model with `from_dict()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated

from pydantic import ValidationInfo, field_validator

from configkit.issues import Issues
from configkit.leaves import HOST_PORT, addresses, durations, optional, parsed, whole_numbers
from configkit.model import ConfigModel, key
from configkit.words import describe
from triggers.retrying import BackoffConfig, Retries

MAX_DELIVER = 1000
MAX_ACK_PENDING = 10_000

_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_-]+")
_SERVER = re.compile(rf"(?:(?P<scheme>nats|tls)://)?{HOST_PORT}")
# gaia's rules for NATS names: streams and durable consumers, and queue groups.
_NAME = re.compile(r"[A-Za-z0-9_-]+")
_QUEUE = re.compile(r"[A-Za-z0-9_.-]+")


def server_list(raw: object) -> tuple[str, ...]:
    """`nats://host:port` or `tls://host:port` URLs, one, comma-separated or a list; a
    bare `host:port` means `nats://host:port`."""
    return addresses(
        raw,
        _SERVER,
        lambda match: match[0] if match["scheme"] else f"nats://{match[0]}",
        "nats://host:port or tls://host:port like nats://127.0.0.1:4222",
    )


def subject_pattern(raw: object, *, wildcards: bool = True) -> str:
    """A NATS subject: dot-separated tokens; with `wildcards`, `*` may be a whole token
    and `>` the whole last token."""
    if wildcards:
        expected = "expected a NATS subject like orders.created, orders.* or orders.>"
    else:
        expected = "expected a NATS subject without wildcards like orders.dlq"
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"{expected}, got {describe(raw)}")
    tokens = raw.split(".")
    for position, token in enumerate(tokens):
        problem = None
        if not token:
            problem = "which has an empty token"
        elif any(character.isspace() for character in token):
            problem = "which holds whitespace"
        elif not wildcards and ("*" in token or ">" in token):
            problem = "which holds a wildcard"
        elif "*" in token and token != "*":
            problem = "where * is not a whole token"
        elif ">" in token and (token != ">" or position < len(tokens) - 1):
            problem = "where > is not the whole last token"
        if problem:
            raise ValueError(f"{expected}, got {raw!r}, {problem}")
    return raw


def _literal_subject(raw: object) -> str:
    return subject_pattern(raw, wildcards=False)


def subject_matches(pattern: str, literal: str) -> bool:
    """Whether a subscription on `pattern` receives what is published on `literal`:
    token by token, `*` matches any one token and `>` one or more."""
    wanted, tokens = pattern.split("."), literal.split(".")
    for position, token in enumerate(wanted):
        if token == ">":
            return len(tokens) > position
        if position >= len(tokens) or token not in ("*", tokens[position]):
            return False
    return len(wanted) == len(tokens)


def _queue_group(raw: object) -> str:
    if not isinstance(raw, str) or not _QUEUE.fullmatch(raw):
        raise ValueError(
            f"expected a queue group name of letters, digits, '.', '_' or '-', got {describe(raw)}"
        )
    return raw


def _name(what: str) -> Callable[[object], str]:
    def parse(raw: object) -> str:
        if not isinstance(raw, str) or not _NAME.fullmatch(raw):
            raise ValueError(
                f"expected a {what} of letters, digits, '_' or '-', got {describe(raw)}"
            )
        return raw

    return parse


class JetStreamConfig(ConfigModel):
    """`jetstream: {stream, ...}`; `stream` is required, so an empty value is not taken
    for core NATS."""

    stream: Annotated[str, parsed(_name("stream name"))]
    # None: derived from the function and the subject, so it survives reordering.
    durable: Annotated[str | None, parsed(optional(_name("durable consumer name")))] = None
    ack_wait_s: Annotated[float, parsed(durations(3600.0, minimum=1.0))] = key(
        "ack_wait", default=30.0
    )
    # Deliveries before the dead letter; None: the trigger's retries + 1.
    max_deliver: Annotated[int | None, parsed(optional(whole_numbers(1, MAX_DELIVER)))] = None
    max_ack_pending: Annotated[int, parsed(whole_numbers(1, MAX_ACK_PENDING))] = 64


class NatsTriggerConfig(ConfigModel):
    servers: Annotated[tuple[str, ...], parsed(server_list)]
    subject: Annotated[str, parsed(subject_pattern)]  # may hold wildcards: orders.*, orders.>
    # Core NATS queue group; None: derived from the function, so replicas share messages.
    queue: Annotated[str | None, parsed(optional(_queue_group))] = None
    # Written as `jetstream:` with nothing after it, it still needs its stream.
    jetstream: Annotated[JetStreamConfig | None, parsed(lambda raw: {} if raw is None else raw)] = (
        None
    )
    retries: Retries = 2
    backoff: BackoffConfig = BackoffConfig()
    dead_letter: Annotated[str | None, parsed(optional(_literal_subject))] = None
    reply_subject: Annotated[str | None, parsed(optional(_literal_subject))] = None

    @field_validator("jetstream", mode="after")
    @classmethod
    def _not_with_queue(
        cls, jetstream: JetStreamConfig | None, info: ValidationInfo
    ) -> JetStreamConfig | None:
        if jetstream is not None and info.data.get("queue") is not None:
            raise Issues(
                (
                    "queue",
                    "a JetStream trigger shares its messages between replicas through its"
                    " durable consumer, not a queue group: expected queue or jetstream,"
                    " not both",
                ),
                up=1,
            )
        return jetstream

    @field_validator("dead_letter", "reply_subject", mode="after")
    @classmethod
    def _not_subscribed(cls, output: str | None, info: ValidationInfo) -> str | None:
        pattern = info.data.get("subject")
        if output is not None and pattern is not None and subject_matches(pattern, output):
            raise ValueError(
                f"subject {output!r} matches this trigger's subject {pattern!r}, so it"
                " would feed the trigger its own output: expected a subject the trigger"
                " does not subscribe to"
            )
        return output

    def queue_for(self, function: str) -> str:
        return self.queue or f"gaia-{function}"

    def durable_for(self, function: str) -> str:
        assert self.jetstream is not None
        # Wildcards get words, so orders.* and orders.> derive different names.
        words = self.subject.replace("*", "star").replace(">", "rest")
        name = _NOT_IN_NAMES.sub("_", words).strip("_")
        return self.jetstream.durable or f"gaia-{function}-{name}"

    @property
    def max_attempts(self) -> int:
        if self.jetstream is not None and self.jetstream.max_deliver is not None:
            return self.jetstream.max_deliver
        return self.retries + 1
