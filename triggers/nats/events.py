"""NATS messages as the CloudEvents a handler receives."""

from __future__ import annotations

import uuid

from nats.aio.msg import Msg

from triggers.base import CloudEvent
from triggers.events import cloud_event

MESSAGE_TYPE = "dev.gaia.nats.message"


def message_event(msg: Msg, *, source: str) -> CloudEvent:
    headers = dict(msg.headers or {})
    meta = _metadata(msg)
    if meta is not None:
        # The stream sequence names the message on every redelivery.
        event_id = f"{meta.stream}/{meta.sequence.stream}"
        time_ms = meta.timestamp.timestamp() * 1000 if meta.timestamp else None
    else:
        event_id = headers.get("Nats-Msg-Id") or uuid.uuid4().hex
        time_ms = None
    event = cloud_event(
        id=event_id,
        source=source,
        type=MESSAGE_TYPE,
        subject=msg.subject,
        time_ms=time_ms,
        payload=msg.data,
    )
    if headers:
        event["headers"] = headers
        traceparent = headers.get("traceparent")
        if traceparent:
            event["traceparent"] = traceparent
    if meta is not None:
        event["stream"] = meta.stream
        event["sequence"] = meta.sequence.stream
        event["deliveries"] = meta.num_delivered
    if msg.reply and meta is None:
        event["reply"] = True  # a request: the return value is the reply
    return event


def _metadata(msg: Msg) -> Msg.Metadata | None:
    """JetStream metadata, or None for a core NATS message."""
    if not msg.reply or not msg.reply.startswith("$JS.ACK."):
        return None
    return msg.metadata
