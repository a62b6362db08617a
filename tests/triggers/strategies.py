"""Generated inputs for the events tests: awkward text, header names, JSON values, and
CloudEvents made with the official SDK, as producers would make them."""

from __future__ import annotations

from datetime import UTC

from cloudevents.core.v1.event import CloudEvent as SdkEvent
from hypothesis import strategies as st


def _no_noncharacter(text: str) -> bool:
    return not any(0xFDD0 <= ord(c) <= 0xFDEF or ord(c) & 0xFFFE == 0xFFFE for c in text)


# Text CloudEvents allows in a String: no control characters, surrogates, noncharacters.
ce_strings = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=12).filter(
    _no_noncharacter
)

# Kafka header names other than those the CloudEvents binding gives a meaning.
header_names = st.text(min_size=1, max_size=10).filter(
    lambda name: not name.lower().startswith(("ce_", "ce-")) and name.lower() != "content-type"
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)

# Names gaia gives attributes of its own, and the spec's: kept out of generated extensions.
_TAKEN = {
    "specversion", "id", "source", "type", "subject", "time", "datacontenttype",
    "dataschema", "data", "topic", "partition", "partitionkey", "stream", "sequence",
    "deliveries", "reply", "traceparent",
}  # fmt: skip
extension_names = st.from_regex(r"[a-z][a-z0-9]{0,19}", fullmatch=True).filter(
    lambda name: name not in _TAKEN
)
extension_values = ce_strings | st.integers(min_value=-(2**31), max_value=2**31 - 1) | st.booleans()
uri_references = st.sampled_from(
    ["/orders", "https://example.com/x?y=1#z", "urn:example:1", "kafka://b:9092/t", "x"]
)


@st.composite
def sdk_events(draw: st.DrawFn) -> SdkEvent:
    """A CloudEvent as a producer makes it with the SDK."""
    attributes: dict[str, object] = {
        "specversion": "1.0",
        "id": draw(ce_strings.filter(bool)),
        "source": draw(uri_references),
        "type": draw(ce_strings.filter(bool)),
    }
    if draw(st.booleans()):
        attributes["subject"] = draw(ce_strings.filter(bool))
    if draw(st.booleans()):
        attributes["time"] = draw(st.datetimes(timezones=st.just(UTC)))
    if draw(st.booleans()):
        attributes["partitionkey"] = draw(ce_strings.filter(bool))
    attributes.update(draw(st.dictionaries(extension_names, extension_values, max_size=3)))
    data: object = None
    kind = draw(st.sampled_from(["json", "binary", "none"]))
    if kind == "json":
        attributes["datacontenttype"] = "application/json"
        data = draw(st.dictionaries(st.text(max_size=5), json_values, max_size=3))
    elif kind == "binary":
        attributes["datacontenttype"] = "application/octet-stream"
        data = draw(st.binary(min_size=1, max_size=16))
    # The SDK gives an event without `time` the current time.
    return SdkEvent(attributes, data)  # type: ignore[arg-type]
