"""NATS messages (core with wildcard subscriptions, requests, JetStream), published to a
real nats-server and received by nats-py, become events that the official CloudEvents
SDK validates and round-trips; generated awkward messages, and messages a producer made
CloudEvents with the SDK: binary mode (`ce-` headers, percent-encoded as the HTTP and
NATS bindings both ask) and structured mode."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime

from cloudevents.core.bindings import http as sdk_http
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from dateutil.parser import isoparse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nats.aio.msg import Msg

from runtime_adapters.python.events import CloudEvent as HandlerEvent
from tests.brokers.nats import NatsServer
from tests.triggers.cloudevents_oracle import FORMAT, check
from tests.triggers.kafka.test_events import json_or_bytes
from tests.triggers.kit import eventually
from tests.triggers.nats.kit import connected, listen, unique
from tests.triggers.strategies import json_values, sdk_events
from triggers.nats.events import message_event, source_of

_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))
tokens = st.text(alphabet="abcXYZ019_-", min_size=1, max_size=6)
# RFC 7230 tokens, what nats-py sends as a header name.
header_names = st.text(alphabet="!#$%&'*+-.^_`|~0123456789azAZ", min_size=1, max_size=10).filter(
    lambda name: not name.lower().startswith("ce-") and name.lower() != "content-type"
)
header_values = st.text(alphabet=_PRINTABLE, min_size=1, max_size=12)


@dataclass(frozen=True)
class Sent:
    tail: list[str]  # subject tokens after the test's root
    payload: bytes
    headers: dict[str, str]
    made: SdkEvent | None = None


@st.composite
def plain_messages(draw: st.DrawFn) -> Sent:
    payload = draw(
        st.just(b"")
        | json_values.map(lambda v: json.dumps(v).encode())
        | st.binary(min_size=1, max_size=32)
    )
    names = header_names | st.sampled_from(["traceparent", "Nats-Msg-Id"])
    headers = draw(st.dictionaries(names, header_values, max_size=3))
    return Sent(draw(st.lists(tokens, min_size=1, max_size=3)), payload, headers)


@st.composite
def cloudevent_messages(draw: st.DrawFn) -> Sent:
    made = draw(sdk_events())
    if draw(st.booleans()):
        message = sdk_http.to_binary(made, FORMAT)
        headers = dict(message.headers)
        # The NATS binding maps datacontenttype like any attribute; Content-Type is
        # left to mean structured mode.
        if "content-type" in headers:
            headers["ce-datacontenttype"] = headers.pop("content-type")
    else:
        message = sdk_http.to_structured(made, FORMAT)
        headers = {"Content-Type": message.headers["content-type"]}
    return Sent(draw(st.lists(tokens, min_size=1, max_size=3)), message.body, headers, made)


messages = st.lists(plain_messages() | cloudevent_messages(), min_size=1, max_size=8)


def assert_plain(event: HandlerEvent, msg: Msg, source: str) -> None:
    """What the README's NATS event paragraph promises, field by field."""
    assert event["source"] == source and event["type"] == "dev.gaia.nats.message"
    assert event["subject"] == msg.subject
    data, content_type = json_or_bytes(msg.data)
    assert event["data"] == data and event["datacontenttype"] == content_type
    headers = msg.headers or {}
    assert dict(event.headers) == headers and "headers" not in event
    if headers.get("traceparent"):
        assert event["traceparent"] == headers["traceparent"]
    else:
        assert "traceparent" not in event


def assert_kept(event: HandlerEvent, msg: Msg, made: SdkEvent) -> None:
    """A producer's CloudEvent keeps its attributes and data; for binary mode the SDK's
    own `ce-` header decoding reads the same message to the same attributes."""
    expected = dict(made.get_attributes())
    if "ce-specversion" in (msg.headers or {}):
        message = sdk_http.HTTPMessage(headers=dict(msg.headers or {}), body=msg.data)
        expected = dict(sdk_http.from_binary(message, FORMAT).get_attributes())
    for name, value in expected.items():
        got = event[name]
        assert (isoparse(got) if name == "time" else got) == value, name
    assert event["data"] == made.get_data()


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sent=messages, wildcard=st.sampled_from([">", "*"]))
async def test_core_messages_and_requests_become_cloudevents_the_sdk_validates(
    nats_server: NatsServer, sent: list[Sent], wildcard: str
) -> None:
    root = unique("ce")
    # `*` matches one token: those messages get one token after the root.
    if wildcard == "*":
        sent = [Sent(item.tail[:1], item.payload, item.headers, item.made) for item in sent]
    pattern = f"{root}.{wildcard}"
    source = source_of(nats_server.url, pattern)
    assert source == f"{nats_server.url}/{root}.{'%3E' if wildcard == '>' else '*'}"
    async with connected(nats_server.url) as nc:
        received = await listen(nc, pattern)
        for n, item in enumerate(sent):
            subject = ".".join([root, *item.tail])
            # Every other one a request: a reply inbox the function's answer would go to.
            reply = f"_INBOX.{root}.{n}" if n % 2 else ""
            await nc.publish(subject, item.payload, reply=reply, headers=item.headers or None)
        await eventually(lambda: len(received) == len(sent), what="every message")
    for msg, item in zip(received, sent, strict=True):
        event = HandlerEvent(message_event(msg, source=source))
        check(event)
        assert ("reply" in event) == bool(msg.reply) and event.get("reply", True) is True
        if item.made is None:
            assert_plain(event, msg, source)
            msg_id = (msg.headers or {}).get("Nats-Msg-Id")
            if msg_id:
                assert event["id"] == msg_id
            else:
                assert re.fullmatch("[0-9a-f]{32}", event["id"])
        else:
            assert_kept(event, msg, item.made)


@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sent=messages)
async def test_jetstream_messages_become_cloudevents_the_sdk_validates(
    nats_server: NatsServer, sent: list[Sent]
) -> None:
    root = unique("js")
    stream = unique("S")
    pattern = f"{root}.>"
    source = source_of(nats_server.url, pattern)
    async with connected(nats_server.url) as nc:
        js = nc.jetstream()
        await js.add_stream(name=stream, subjects=[pattern])
        published = []
        for item in sent:
            subject = ".".join([root, *item.tail])
            published.append(await js.publish(subject, item.payload, headers=item.headers or None))
        sub = await js.pull_subscribe(pattern, durable=unique("d"), stream=stream)
        received: list[Msg] = []
        while len(received) < len(sent):
            received.extend(await sub.fetch(len(sent) - len(received), timeout=5))
        # One message comes again: its deliveries count says so.
        await received[0].nak()
        [again] = await sub.fetch(1, timeout=5)
        for msg in [*received[1:], again]:
            await msg.ack()
        await js.delete_stream(stream)
    events = [HandlerEvent(message_event(msg, source=source)) for msg in received]
    for event, msg, item, ack in zip(events, received, sent, published, strict=True):
        check(event)
        assert event["stream"] == stream and event["deliveries"] == 1
        assert event["sequence"] == f"{ack.seq:020d}"
        if item.made is None:
            assert_plain(event, msg, source)
            assert event["id"] == f"{stream}/{ack.seq}"
            stored: datetime = msg.metadata.timestamp
            lag = (stored - isoparse(event["time"])).total_seconds()
            assert 0 <= lag < 0.001, "time is the stored time, to the millisecond"
        else:
            assert_kept(event, msg, item.made)
    assert sorted(event["sequence"] for event in events) == [e["sequence"] for e in events]
    redelivered = HandlerEvent(message_event(again, source=source))
    check(redelivered)
    assert redelivered["deliveries"] == 2 and redelivered["id"] == events[0]["id"]
    assert redelivered["sequence"] == events[0]["sequence"]
