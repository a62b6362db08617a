"""Redis Stream entries as the CloudEvents a handler receives.

An entry is a map of fields to values, both bytes. `data` is:

- the value of the field `data` decoded like the other kinds' payloads (the JSON it
  holds, else the bytes), when `data` is the entry's only field besides `traceparent`;
- else the whole map, field names as text and values as text when UTF-8, else bytes.
  `datacontenttype` is then `application/json` when every value is text.

Every attribute is a string, as CloudEvents requires of these: `id` is `STREAM/ENTRY-ID`
(the same on every retry and on every consumer that claims it), `source`
`redis://HOST:PORT/DB/STREAM`, `subject` the entry id, `time` the entry id's
milliseconds, and the extensions `stream` and, when the entry has the field,
`traceparent`.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from triggers.base import CloudEvent
from triggers.events import JSON, cloud_event, text_or_bytes

MESSAGE_TYPE = "dev.gaia.redis.message"
DATA_FIELD = b"data"
TRACEPARENT_FIELD = b"traceparent"

Fields = Mapping[bytes, bytes]


def stream_source(url: str, stream: str) -> str:
    """`redis://HOST:PORT/DB/STREAM` with the port and database always written, so one
    stream has one source however its URL was spelt; the stream is percent-encoded
    where URIs do not allow its characters (`{}`)."""
    parts = urlsplit(url)
    db = parts.path.strip("/") or "0"
    return f"{parts.scheme}://{parts.netloc}/{db}/{quote(stream, safe=':@')}"


def event_id(stream: str, entry_id: str) -> str:
    return f"{stream}/{entry_id}"


def entry_event(*, stream: str, entry_id: str, fields: Fields, source: str) -> CloudEvent:
    millis = entry_id.partition("-")[0]
    traceparent = fields.get(TRACEPARENT_FIELD)
    payload = fields.get(DATA_FIELD)
    single = payload is not None and len(fields) == 1 + (traceparent is not None)
    event = cloud_event(
        id=event_id(stream, entry_id),
        source=source,
        type=MESSAGE_TYPE,
        subject=entry_id,
        time_ms=int(millis) if millis.isdigit() else None,
        payload=payload if single else None,
    )
    if not single:
        data = {
            name.decode(errors="backslashreplace"): text_or_bytes(v) for name, v in fields.items()
        }
        event["data"] = data
        if all(isinstance(value, str) for value in data.values()):
            event["datacontenttype"] = JSON
        else:
            del event["datacontenttype"]
    event["stream"] = stream
    if traceparent:
        text = text_or_bytes(traceparent)
        if isinstance(text, str):
            event["traceparent"] = text
    return event
