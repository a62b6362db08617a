"""Paths built from static words and generated ids cluster into the routes gaia would write."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacy.discovery.patterns import NoPattern, is_id, pattern_of
from routing.names import Target
from routing.routes import HttpRoute, RouteMatch, RouteTable, parse_pattern

# Words real APIs put in paths, those spelled in hex letters and with digits included.
STATIC = [
    "api", "v1", "v2beta1", "users", "me", "health", "items", "orders", "oauth2", "token",
    "cafe", "deadbeef", "ed25519", "facade", "decade", "beef", "added", "feed", "s3", "e2e", "2fa",
    "getUsersByDepartment", "user-preferences-settings", "index.html", "report-1.pdf",
    "caf\u00e9", "a b", "_internal", "",
]  # fmt: skip


def has_digit_and_letter(text: str) -> bool:
    return any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


numeric = st.integers(0, 2**63).map(str)
uuids = st.uuids().map(str) | st.uuids().map(lambda u: str(u).upper())
# Object ids, hashes, short commit ids: bytes in hex, in either case.
hex_ids = (
    st.binary(min_size=4, max_size=32)
    .map(bytes.hex)
    .filter(lambda h: any(c.isdigit() for c in h) or len(h) >= 16)
    .flatmap(lambda h: st.sampled_from([h, h.upper()]))
)
# Tokens as secrets.token_urlsafe makes them, padded or not; the rule takes those with
# both letters and digits (a token of letters alone is documented to stay literal).
opaque = (
    st.binary(min_size=15, max_size=48)
    .map(base64.urlsafe_b64encode)
    .map(bytes.decode)
    .flatmap(lambda t: st.sampled_from([t, t.rstrip("=")]))
    .filter(lambda t: len(t.rstrip("=")) >= 20 and has_digit_and_letter(t))
)
ids = numeric | uuids | hex_ids | opaque
segments = st.lists(st.sampled_from(STATIC[:-1]) | ids.map(lambda i: ("id", i)), max_size=6)


@settings(max_examples=500, deadline=None)
@given(segments, st.booleans())
def test_ids_cluster_to_the_expected_pattern(
    parts: list[str | tuple[str, str]], trailing: bool
) -> None:
    # `/` is the root; a trailing slash after a segment is a path of its own.
    slash = trailing and bool(parts)
    path = "/" + "/".join(p if isinstance(p, str) else p[1] for p in parts) + ("/" if slash else "")
    names = [
        f"id{n}" if n > 1 else "id"
        for n in range(1, 1 + sum(not isinstance(p, str) for p in parts))
    ]
    it = iter(names)
    expected = (
        "/"
        + "/".join(p if isinstance(p, str) else f"{{{next(it)}}}" for p in parts)
        + ("/" if slash else "")
    )
    assert pattern_of(path) == expected
    # A valid HTTP trigger path, which serves the path it came from with the ids as params.
    parsed = parse_pattern(expected)
    assert parsed.params == tuple(names)
    route = HttpRoute(path=expected, target=Target(function="f"), trigger_id="t")
    found = RouteTable([route]).match("GET", path, None)
    assert isinstance(found, RouteMatch)
    assert list(found.params.values()) == [p[1] for p in parts if not isinstance(p, str)]


@pytest.mark.parametrize("word", STATIC)
def test_static_words_stay(word: str) -> None:
    assert not is_id(word)


@pytest.mark.parametrize(
    ("path", "pattern"),
    [
        ("/v1/users/me", "/v1/users/me"),
        ("/api/health", "/api/health"),
        ("/", "/"),
        ("/v1/cafe/menu", "/v1/cafe/menu"),
        ("/v1/users/42/orders/9f8e7d6c5b4a39281706f5e4", "/v1/users/{id}/orders/{id2}"),
        ("/files/abcdefabcdefabcd", "/files/{id}"),
        ("/t/{x}/a?b/c#d", "/t/{id}/{id2}/{id3}"),
        ("/users/12/", "/users/{id}/"),
    ],
)
def test_known_paths(path: str, pattern: str) -> None:
    assert pattern_of(path) == pattern
    parse_pattern(pattern)


@pytest.mark.parametrize("path", ["", "*", "users/1", "/a//b"])
def test_a_path_no_pattern_can_match_is_refused_by_name(path: str) -> None:
    with pytest.raises(NoPattern, match="no route pattern matches it") as raised:
        pattern_of(path)
    assert repr(path) in str(raised.value)
