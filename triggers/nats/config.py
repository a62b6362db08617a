"""What one NATS trigger subscribes to and how it delivers (gaia.yaml `- nats: {...}`).

gateway/config.py validates the YAML into this model; the store keeps `to_dict()` and
the gateway rebuilds it with `from_dict()`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

_NOT_IN_NAMES = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True, kw_only=True)
class JetStreamConfig:
    stream: str
    # None: derived from the function and the subject, so it survives reordering.
    durable: str | None = None
    ack_wait_s: float = 30.0
    # Deliveries before the dead letter; None: the trigger's retries + 1.
    max_deliver: int | None = None
    max_ack_pending: int = 64


@dataclass(frozen=True, kw_only=True)
class NatsTriggerConfig:
    servers: tuple[str, ...]  # nats://host:port URLs
    subject: str  # may hold wildcards: orders.*, orders.>
    # Core NATS queue group; None: derived from the function, so replicas share messages.
    queue: str | None = None
    jetstream: JetStreamConfig | None = None
    retries: int = 2  # attempts after the first
    backoff_initial_s: float = 0.1
    backoff_max_s: float = 30.0
    dead_letter: str | None = None  # a subject
    reply_subject: str | None = None

    def queue_for(self, function: str) -> str:
        return self.queue or f"gaia-{function}"

    def durable_for(self, function: str) -> str:
        assert self.jetstream is not None
        # Wildcards get words, so orders.* and orders.> derive different names.
        words = self.subject.replace("*", "star").replace(">", "rest")
        subject = _NOT_IN_NAMES.sub("_", words).strip("_")
        return self.jetstream.durable or f"gaia-{function}-{subject}"

    @property
    def max_attempts(self) -> int:
        if self.jetstream is not None and self.jetstream.max_deliver is not None:
            return self.jetstream.max_deliver
        return self.retries + 1

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {
            "servers": list(self.servers),
            "subject": self.subject,
            "retries": self.retries,
            "backoff": {"initial": self.backoff_initial_s, "max": self.backoff_max_s},
        }
        if self.queue is not None:
            data["queue"] = self.queue
        if self.jetstream is not None:
            js = self.jetstream
            stream: dict[str, object] = {
                "stream": js.stream,
                "ack_wait": js.ack_wait_s,
                "max_ack_pending": js.max_ack_pending,
            }
            if js.durable is not None:
                stream["durable"] = js.durable
            if js.max_deliver is not None:
                stream["max_deliver"] = js.max_deliver
            data["jetstream"] = stream
        if self.dead_letter is not None:
            data["dead_letter"] = self.dead_letter
        if self.reply_subject is not None:
            data["reply_subject"] = self.reply_subject
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> NatsTriggerConfig:
        """Rebuild from `to_dict()` output (already validated when it was stored)."""
        backoff = cast(Mapping[str, float], data.get("backoff") or {})
        js = cast(Mapping[str, Any] | None, data.get("jetstream"))
        return cls(
            servers=tuple(cast(list[str], data["servers"])),
            subject=str(data["subject"]),
            queue=cast(str | None, data.get("queue")),
            jetstream=(
                JetStreamConfig(
                    stream=str(js["stream"]),
                    durable=js.get("durable"),
                    ack_wait_s=float(js.get("ack_wait", 30.0)),
                    max_deliver=js.get("max_deliver"),
                    max_ack_pending=int(js.get("max_ack_pending", 64)),
                )
                if js
                else None
            ),
            retries=cast(int, data.get("retries", 2)),
            backoff_initial_s=float(backoff.get("initial", 0.1)),
            backoff_max_s=float(backoff.get("max", 30.0)),
            dead_letter=cast(str | None, data.get("dead_letter")),
            reply_subject=cast(str | None, data.get("reply_subject")),
        )
