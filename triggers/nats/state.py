"""What a running NATS trigger reports (see triggers.state): core NATS triggers their
queue group and lost messages, JetStream ones their consumer's counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from triggers.state import Sample, Series, TriggerState

_JETSTREAM_LABELS = ("stream", "durable")
PENDING = Series(
    name="jetstream_pending",
    help="Messages of the stream the trigger's durable consumer has not been delivered yet",
    type="gauge",
    labels=_JETSTREAM_LABELS,
)
ACK_PENDING = Series(
    name="jetstream_ack_pending",
    help="Messages delivered to the trigger's durable consumer and not acknowledged yet",
    type="gauge",
    labels=_JETSTREAM_LABELS,
)
REDELIVERED = Series(
    name="jetstream_redelivered",
    help="Messages the server delivered again (after a nak or an ack wait)",
    type="counter",
    labels=_JETSTREAM_LABELS,
)
LOST = Series(
    name="nats_lost",
    help="Core NATS messages that failed every attempt with no dead letter to take them",
    type="counter",
    labels=("subject",),
)


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

    def samples(self) -> list[Sample]:
        if self.stream is None:
            return [(LOST, (self.subject,), self.lost or 0)]
        labels = (self.stream, self.durable or "")
        samples: list[Sample] = [(REDELIVERED, labels, self.redelivered or 0)]
        if self.pending is not None:
            samples.append((PENDING, labels, self.pending))
        if self.ack_pending is not None:
            samples.append((ACK_PENDING, labels, self.ack_pending))
        return samples

    def hidden(self) -> frozenset[str]:
        # Nothing reports stuck subjects: a failed message is redelivered or dead-lettered.
        return (self._JETSTREAM if self.stream is not None else self._CORE) | {"stuck"}
