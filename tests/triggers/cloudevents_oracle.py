"""The official CloudEvents SDK (2.x core API) as an oracle for the events handlers get.

`check` holds an event, as the worker hands it to a handler, to the spec's rules with
checks of its own (attribute names, value types, URI-reference via rfc3987), then
builds the SDK's CloudEvent from it (which validates required attributes and extension
names) and round-trips it through the SDK's structured JSON writer and reader.
A Kafka batch's `data` is a list of events: written in the JSON batch format, each item
by the SDK's writer as an event of its own.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import rfc3987
from cloudevents.core.base import BaseCloudEvent
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent as SdkEvent
from dateutil.parser import isoparse

FORMAT = JSONFormat()
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
_NAME = re.compile(r"[a-z0-9]{1,20}")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", re.IGNORECASE)


def check(event: Mapping[str, Any]) -> BaseCloudEvent:
    """Assert `event` is a valid CloudEvent that survives the SDK's JSON format; returns
    what the SDK read back."""
    check_attributes(event)
    written = FORMAT.write(to_sdk(event))
    back = FORMAT.read(None, written)
    read = dict(back.get_attributes())
    expected = attributes_of(event)
    if "time" not in expected:
        read.pop("time")  # the SDK's CloudEvent sets `time` to now when it has none
    assert read == expected, f"attributes changed in the SDK's round trip: {written!r}"
    data = back.get_data()
    if event.get("datacontenttype") == BATCH_CONTENT_TYPE:
        assert isinstance(data, list) and len(data) == len(event["data"])
        for item, sent in zip(data, event["data"], strict=True):
            assert_same(FORMAT.read(None, json.dumps(item)), sent)
    else:
        assert data == event.get("data"), f"data changed in the SDK's round trip: {written!r}"
    return back


def assert_same(sdk: BaseCloudEvent, event: Mapping[str, Any]) -> None:
    """The SDK's event has exactly `event`'s attributes and data."""
    read = dict(sdk.get_attributes())
    expected = attributes_of(event)
    if "time" not in expected:
        read.pop("time")
    assert read == expected
    assert sdk.get_data() == event.get("data")


def check_attributes(event: Mapping[str, Any]) -> None:
    """The spec's rules for names and the type system for values (spec.md)."""
    for name in ("specversion", "id", "source", "type"):
        assert isinstance(event.get(name), str) and event[name], f"{name} missing or empty"
    assert event["specversion"] == "1.0"
    for name, value in event.items():
        if name == "data":
            continue
        assert _NAME.fullmatch(name), f"{name!r}: not a CloudEvents attribute name"
        if name in ("source", "dataschema"):
            assert rfc3987.match(value, rule="URI_reference"), f"{name}: {value!r}"
        if name == "time":
            assert isinstance(value, str) and _RFC3339.fullmatch(value), f"time: {value!r}"
            assert isoparse(value).tzinfo is not None
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int):
            assert -(2**31) <= value < 2**31, f"{name}: {value} is past a 32-bit Integer"
        else:
            assert isinstance(value, str), f"{name}: {type(value).__name__} is no type"
            assert is_ce_string(value), f"{name}: {value!r} is not a CloudEvents String"


def is_ce_string(text: str) -> bool:
    """No control characters, surrogates or noncharacters (spec.md, String)."""
    for char in text:
        point = ord(char)
        if unicodedata.category(char) in ("Cc", "Cs"):
            return False
        if 0xFDD0 <= point <= 0xFDEF or point & 0xFFFE == 0xFFFE:
            return False
    return True


def attributes_of(event: Mapping[str, Any]) -> dict[str, Any]:
    """The attributes as the SDK keeps them: `time` a datetime."""
    attributes = {name: value for name, value in event.items() if name != "data"}
    if "time" in attributes:
        attributes["time"] = isoparse(attributes["time"])
    return attributes


def to_sdk(event: Mapping[str, Any]) -> SdkEvent:
    data = event.get("data")
    if event.get("datacontenttype") == BATCH_CONTENT_TYPE:
        assert isinstance(data, list)
        data = [json.loads(FORMAT.write(to_sdk(item))) for item in data]
    return SdkEvent(attributes_of(event), data)
