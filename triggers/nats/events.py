"""NATS messages as the CloudEvents a handler receives.

A message a producer made a CloudEvent keeps its attributes (NATS protocol binding):
structured mode when its `Content-Type` is application/cloudevents+json, binary mode
when `ce-` headers (percent-encoded) name one.
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote, unquote_to_bytes

from nats.aio.msg import Msg

from triggers.base import CloudEvent
from triggers.events import (
    MESSAGE,
    cloud_event,
    is_string,
    is_structured,
    sender_attributes,
    sender_data,
    structured_event,
)

MESSAGE_TYPE = "dev.gaia.nats.message"
# A stream sequence is a uint64: 20 digits, zero-padded so that text order is stream
# order, as the Sequence extension asks of a String.
_SEQUENCE_DIGITS = 20


# RFC 3986 sub-delims, ":" and "@" may stand in a path as they are.
_PATH_SAFE = "!$&'()*+,;=:@"


def source_of(server: str, subject: str) -> str:
    """`nats://HOST:PORT/SUBJECT`, a URI-reference: wildcards percent-encoded (`>` is
    not allowed in a URI)."""
    return f"{server}/{quote(subject, safe=_PATH_SAFE)}"


def message_event(msg: Msg, *, source: str) -> CloudEvent:
    headers = dict(msg.headers or {})
    meta = _metadata(msg)
    event = sender_event(msg, headers) if headers else None
    if event is None:
        event = _own_event(msg, headers, meta, source)
    if headers:
        event[MESSAGE] = {"headers": headers}
    if meta is not None:
        event.setdefault("stream", meta.stream)
        event.setdefault("sequence", f"{meta.sequence.stream:0{_SEQUENCE_DIGITS}d}")
        event.setdefault("deliveries", meta.num_delivered)
    if msg.reply and meta is None:
        event.setdefault("reply", True)  # a request: the return value is the reply
    return event


def _own_event(
    msg: Msg, headers: dict[str, str], meta: Msg.Metadata | None, source: str
) -> CloudEvent:
    if meta is not None:
        # The stream sequence names the message on every redelivery.
        event_id = f"{meta.stream}/{meta.sequence.stream}"
        time_ms = meta.timestamp.timestamp() * 1000 if meta.timestamp else None
    else:
        msg_id = headers.get("Nats-Msg-Id")
        event_id = msg_id if msg_id and is_string(msg_id) else uuid.uuid4().hex
        time_ms = None
    event = cloud_event(
        id=event_id,
        source=source,
        type=MESSAGE_TYPE,
        subject=msg.subject,
        time_ms=time_ms,
        payload=msg.data,
    )
    traceparent = headers.get("traceparent")
    if traceparent and is_string(traceparent):
        event["traceparent"] = traceparent
    return event


def sender_event(msg: Msg, headers: dict[str, str]) -> CloudEvent | None:
    """The CloudEvent a producer made of this message, or None."""
    lowered = {name.lower(): value for name, value in headers.items()}
    if is_structured(lowered.get("content-type")):
        return structured_event(msg.data)
    if "ce-specversion" not in lowered:
        return None
    candidates: dict[str, object] = {}
    for name, value in lowered.items():
        if name.startswith("ce-"):
            decoded = _header_value(value)
            if decoded is not None:
                candidates[name[3:]] = decoded
    event = sender_attributes(candidates)
    if event is not None:
        event["data"] = sender_data(msg.data, event.get("datacontenttype"))
    return event


_QUOTED_PAIR = re.compile(r"\\(.)")


def _header_value(value: str) -> str | None:
    """A `ce-` header's attribute value: a double-quoted string unquoted, then one round
    of percent-decoding; None when the bytes it names are not UTF-8."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        value = _QUOTED_PAIR.sub(r"\1", value[1:-1])
    try:
        return unquote_to_bytes(value).decode("utf-8")
    except UnicodeDecodeError:
        return None


def _metadata(msg: Msg) -> Msg.Metadata | None:
    """JetStream metadata, or None for a core NATS message."""
    if not msg.reply or not msg.reply.startswith("$JS.ACK."):
        return None
    return msg.metadata
