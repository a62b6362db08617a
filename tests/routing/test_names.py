"""The shared name rules: functions, aliases, tags, sticky key names, revisions, invoke targets."""

from __future__ import annotations

import h11
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from routing.errors import InvalidSpec
from routing.names import (
    MAX_TOKEN_LENGTH,
    Target,
    check_revision,
    check_tag_name,
    check_token,
    invoke_target,
    parse_revision_text,
    parse_target,
)
from routing.traffic import parse_alias_spec, parse_sticky


@pytest.mark.parametrize("tag", ["canary", "v2", "blue-green", "a" * 63])
def test_tags_are_lowercase_labels(tag: str) -> None:
    assert check_tag_name(tag) == tag


@pytest.mark.parametrize(
    "tag", ["", "Canary", "2nd", "-x", "a_b", "a b", "canary\n", "a" * 64, "t" * 100_000, 7]
)
def test_other_tags_are_refused_with_a_short_message(tag: object) -> None:
    with pytest.raises(InvalidSpec) as caught:
        check_tag_name(tag, path="traffic[0].tag")
    assert caught.value.path == "traffic[0].tag"
    assert "at most 63 characters" in caught.value.message
    # A 100,000-character value is echoed cut short, with its length.
    assert len(caught.value.message) < 200
    if tag == "t" * 100_000:
        assert "(100000 characters)" in caught.value.message


# h11 checks these two headers' values as well as their names.
_FRAMING = {"content-length", "transfer-encoding"}


def _h11_accepts_header_name(name: str) -> bool:
    try:
        # HTTP/1.0, which needs no Host header that `name` could duplicate.
        h11.Request(method="GET", target="/", headers=[(name, "v")], http_version="1.0")
    except (h11.LocalProtocolError, UnicodeEncodeError):
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(max_size=20),
        st.text(st.characters(codec="ascii"), max_size=20),
        st.text(alphabet="!#$%&'*+-.^_`|~azAZ09 \t\"(),/:;<=>?@[\\]{}", max_size=12),
    )
)
def test_sticky_names_are_the_header_names_h11_accepts(name: str) -> None:
    """h11, the HTTP/1.1 parser under uvicorn and httpx, is the oracle for RFC 9110 tokens."""
    assume(name.lower() not in _FRAMING)
    try:
        check_token(name, what="header name")
        ours = True
    except InvalidSpec:
        ours = False
    assert ours == _h11_accepts_header_name(name), name


def test_sticky_names_are_bounded_and_a_space_is_refused() -> None:
    assert parse_sticky("header:X-User-Id").name == "x-user-id"
    assert parse_sticky("cookie:" + "s" * MAX_TOKEN_LENGTH).name == "s" * MAX_TOKEN_LENGTH
    for text in ("header:x user", "cookie:a;b", "query:a=b", "cookie:" + "s" * 257, "header:"):
        with pytest.raises(InvalidSpec, match="expected an HTTP token") as caught:
            parse_sticky(text, path="sticky")
        assert caught.value.path == "sticky"


@pytest.mark.parametrize("raw", [1, 2, 2**63 - 1, "latest"])
def test_revisions_are_positive_integers_or_latest(raw: object) -> None:
    assert check_revision(raw) == raw


@pytest.mark.parametrize("raw", [True, False, 1.0, 1.5, "1", "Latest", 0, -1, 2**63, None, [1]])
def test_revisions_are_not_bools_floats_or_text(raw: object) -> None:
    with pytest.raises(InvalidSpec, match="expected a positive integer") as caught:
        check_revision(raw, path="revision")
    assert caught.value.path == "revision"


@pytest.mark.parametrize("text", ["0", "01x", "1e3", "٣", "-1", "", "9" * 5000, "latest"])
def test_revision_text_is_ascii_digits(text: str) -> None:
    with pytest.raises(InvalidSpec, match="invalid revision"):
        parse_revision_text(text)


def test_revision_text_and_targets() -> None:
    assert parse_revision_text("42") == 42
    assert parse_target("hello@3") == Target(function="hello", revision=3)
    with pytest.raises(InvalidSpec, match="invalid revision"):
        parse_target("hello@" + "9" * 5000)


def test_a_revision_appears_once_in_a_traffic_list() -> None:
    with pytest.raises(InvalidSpec, match="listed twice") as caught:
        parse_alias_spec(
            {"traffic": [{"revision": 1, "percent": 50}, {"revision": 1, "percent": 50}]}
        )
    assert caught.value.path == "traffic[1].revision"
    with pytest.raises(InvalidSpec, match="listed twice"):
        parse_alias_spec(
            {
                "traffic": [
                    {"revision": "latest", "percent": 50},
                    {"revision": "latest", "percent": 50},
                ]
            }
        )
    # A number and `latest` may name the same revision today and differ tomorrow.
    spec = parse_alias_spec(
        {"traffic": [{"revision": 1, "percent": 90}, {"revision": "latest", "percent": 10}]}
    )
    assert [t.revision for t in spec.traffic] == [1, "latest"]


def test_revision_true_and_a_huge_percent_are_refused_in_traffic() -> None:
    with pytest.raises(InvalidSpec, match="invalid revision true") as caught:
        parse_alias_spec({"traffic": [{"revision": True, "percent": 100}]})
    assert caught.value.path == "traffic[0].revision"
    with pytest.raises(InvalidSpec, match="out of range") as caught:
        parse_alias_spec({"traffic": [{"revision": 1, "percent": 10**400}]})
    assert caught.value.path == "traffic[0].percent"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, Target(function="hello", alias="default")),
        ({"alias": "prod"}, Target(function="hello", alias="prod")),
        ({"tag": "canary"}, Target(function="hello", alias="default", tag="canary")),
        ({"alias": "prod", "tag": "canary"}, Target(function="hello", alias="prod", tag="canary")),
        ({"revision": "3"}, Target(function="hello", revision=3)),
    ],
)
def test_invoke_targets(query: dict[str, str], expected: Target) -> None:
    assert invoke_target("hello", **query) == expected


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"alias": "prod", "revision": "1"}, "revision", "got revision and alias"),
        ({"tag": "canary", "revision": "1"}, "revision", "got revision and tag"),
        ({"alias": "a", "tag": "b", "revision": "1"}, "revision", "got revision and alias and tag"),
        ({"revision": "x"}, "revision", "invalid revision"),
        ({"alias": "Prod"}, "alias", "invalid alias name"),
        ({"tag": "t" * 100}, "tag", "invalid tag name"),
    ],
)
def test_invoke_refuses_mixed_or_bad_targets(
    query: dict[str, str], field: str, message: str
) -> None:
    with pytest.raises(InvalidSpec, match=message) as caught:
        invoke_target("hello", **query)
    assert caught.value.path == field
