"""What a running NATS trigger reports (see triggers.state): core NATS triggers their
queue group and lost messages, JetStream ones their consumer's counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from triggers.state import TriggerState


@dataclass(frozen=True, kw_only=True)
class NatsState(TriggerState):
    subject: str
    # core NATS
    queue: str | None = None
    lost: int | None = None  # messages that failed with nobody to redeliver them
    # JetStream
    stream: str | None = None
    durable: str | None = None
    redelivered: int | None = None
    dead_letter_failed: int | None = None
    pending: int | None = None  # read from the consumer every second
    ack_pending: int | None = None

    _CORE: ClassVar[frozenset[str]] = frozenset(
        {"stream", "durable", "redelivered", "dead_letter_failed", "lag", "pending", "ack_pending"}
    )
    _JETSTREAM: ClassVar[frozenset[str]] = frozenset({"queue", "lost"})

    def hidden(self) -> frozenset[str]:
        # Nothing reports stuck subjects: a failed message is redelivered or dead-lettered.
        return (self._JETSTREAM if self.stream is not None else self._CORE) | {"stuck"}
