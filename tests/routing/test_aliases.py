"""Alias resolution: weights, tags, stickiness and `latest`, as a user would observe them."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections import Counter

import pytest

from routing.aliases import ResolvedAlias, sticky_key_from
from routing.errors import InvalidSpec, UnknownTag
from routing.traffic import Sticky, parse_alias_spec

KEYS = [f"user-{i}" for i in range(10_000)]


def resolve(
    *traffic: dict[str, object], latest: int = 7, sticky: str | None = None
) -> ResolvedAlias:
    raw: dict[str, object] = {"traffic": list(traffic)}
    if sticky is not None:
        raw["sticky"] = sticky
    return ResolvedAlias.build("hello", "prod", parse_alias_spec(raw), latest=latest)


def split(revision_a: int, percent_a: float, revision_b: int, percent_b: float) -> ResolvedAlias:
    return resolve(
        {"revision": revision_a, "percent": percent_a},
        {"revision": revision_b, "percent": percent_b},
    )


def sticky_assignment(alias: ResolvedAlias) -> dict[str, int]:
    return {key: alias.choose(sticky_key=key) for key in KEYS}


# --- build: `latest`, merging, tags ---------------------------------------------------------


def test_latest_becomes_the_given_revision_and_entries_merge() -> None:
    alias = resolve(
        {"revision": 2, "percent": 60, "tag": "stable"},
        {"revision": "latest", "percent": 30, "tag": "canary"},
        {"revision": 7, "percent": 10},
        latest=7,
    )
    assert alias.revisions == ((2, 60.0), (7, 40.0))
    assert dict(alias.tags) == {"stable": 2, "canary": 7}
    assert str(alias) == "hello:prod"


def test_latest_without_a_ready_revision_is_an_error_naming_the_entry() -> None:
    with pytest.raises(InvalidSpec) as caught:
        resolve({"revision": 1, "percent": 90}, {"revision": "latest", "percent": 10}, latest=0)
    assert caught.value.path == "traffic[1].revision"
    assert "no revision of hello is ready" in caught.value.message


def test_latest_not_named_needs_no_ready_revision() -> None:
    alias = resolve({"revision": 3, "percent": 100}, latest=0)
    assert alias.revisions == ((3, 100.0),)


def test_sticky_setting_is_carried_over() -> None:
    alias = resolve({"revision": 1, "percent": 100}, sticky="cookie:sid")
    assert alias.sticky == Sticky(source="cookie", name="sid")


def test_tags_cannot_be_changed_through_the_resolved_alias() -> None:
    alias = resolve({"revision": 1, "percent": 100, "tag": "stable"})
    with pytest.raises(TypeError):
        alias.tags["stable"] = 2  # type: ignore[index]


# --- tags ---------------------------------------------------------------------------------


def test_a_tag_reaches_a_zero_percent_revision() -> None:
    alias = resolve(
        {"revision": 1, "percent": 100},
        {"revision": "latest", "percent": 0, "tag": "preview"},
        latest=4,
    )
    assert alias.choose(tag="preview") == 4
    # ...while untagged requests, with or without a key, never see it.
    assert {alias.choose(rand=i / 100) for i in range(100)} == {1}
    assert {alias.choose(sticky_key=key) for key in KEYS[:1000]} == {1}


def test_a_tag_wins_over_the_sticky_key() -> None:
    alias = resolve(
        {"revision": 1, "percent": 50, "tag": "blue"},
        {"revision": 2, "percent": 50, "tag": "green"},
        sticky="header:x-user",
    )
    for key in KEYS[:100]:
        assert alias.choose(sticky_key=key, tag="green") == 2
        assert alias.choose(sticky_key=key, tag="blue") == 1


def test_an_unknown_tag_is_an_error_listing_the_known_ones() -> None:
    alias = resolve({"revision": 1, "percent": 90}, {"revision": 2, "percent": 10, "tag": "canary"})
    with pytest.raises(UnknownTag) as caught:
        alias.choose(tag="beta")
    assert caught.value.tag == "beta"
    assert str(caught.value) == "hello:prod has no tag 'beta' (tags: canary)"


def test_an_unknown_tag_is_an_error_even_for_a_single_revision() -> None:
    with pytest.raises(UnknownTag):
        resolve({"revision": 1, "percent": 100}).choose(tag="canary")


# --- weighted random ----------------------------------------------------------------------


def shares(choices: list[int]) -> dict[int, float]:
    counts = Counter(choices)
    return {revision: 100 * n / len(choices) for revision, n in counts.items()}


def test_90_10_over_100k_draws_is_within_half_a_point() -> None:
    # The 10% share of 100,000 draws has a standard deviation of sqrt(.9 * .1 / 1e5), about
    # 0.095 points, so ±0.5 points is a bit over 5 sigma: a miss means a biased split.
    rng = random.Random(20240611)
    alias = split(1, 90, 2, 10)
    got = shares([alias.choose(rand=rng.random()) for _ in range(100_000)])
    assert got[1] == pytest.approx(90, abs=0.5)
    assert got[2] == pytest.approx(10, abs=0.5)


def test_default_randomness_follows_the_weights_too() -> None:
    # Same 5-sigma bound as above, with the real random.random(): a false alarm is ~1e-6.
    alias = split(1, 90, 2, 10)
    got = shares([alias.choose() for _ in range(100_000)])
    assert got[2] == pytest.approx(10, abs=0.5)


@pytest.mark.parametrize(
    ("rand", "revision"), [(0.0, 1), (0.8999, 1), (0.9, 2), (0.999999, 2), (1.0, 2)]
)
def test_rand_maps_onto_cumulative_weights(rand: float, revision: int) -> None:
    assert split(1, 90, 2, 10).choose(rand=rand) == revision


def test_zero_percent_revisions_are_never_drawn() -> None:
    alias = resolve(
        {"revision": 1, "percent": 50},
        {"revision": 2, "percent": 0},
        {"revision": 3, "percent": 50},
    )
    assert {alias.choose(rand=i / 1000) for i in range(1000)} == {1, 3}
    assert set(sticky_assignment(alias).values()) == {1, 3}


def test_a_single_revision_is_chosen_whatever_the_input() -> None:
    alias = resolve({"revision": 5, "percent": 100}, {"revision": 6, "percent": 0})
    assert {alias.choose(rand=r) for r in (0.0, 0.5, 0.99)} == {5}
    assert {alias.choose(sticky_key=key) for key in KEYS[:100]} == {5}
    assert alias.untagged == 5  # what the data plane's splice plans take without choosing


def test_a_split_has_no_untagged_revision_to_take_without_choosing() -> None:
    assert split(1, 90, 2, 10).untagged is None


# --- stickiness ---------------------------------------------------------------------------


def test_a_key_always_gets_the_same_revision() -> None:
    first = sticky_assignment(split(1, 50, 2, 50))
    again = sticky_assignment(split(1, 50, 2, 50))  # a rebuilt alias, as after a reload
    assert first == again
    assert set(first.values()) == {1, 2}


def test_sticky_split_over_10k_keys_follows_the_weights() -> None:
    # The 10% share of 10,000 keys has a standard deviation of 0.3 points: ±1.5 is 5 sigma.
    got = shares(list(sticky_assignment(split(1, 90, 2, 10)).values()))
    assert got[2] == pytest.approx(10, abs=1.5)


def test_90_10_to_80_20_moves_about_10_percent_of_keys_all_to_the_grown_revision() -> None:
    before = sticky_assignment(split(1, 90, 2, 10))
    after = sticky_assignment(split(1, 80, 2, 20))
    moved = {key for key in KEYS if before[key] != after[key]}
    # Exactly the 10 points that changed hands should move; 8-12% is ±6.7 sigma on 10k keys.
    assert 0.08 <= len(moved) / len(KEYS) <= 0.12
    assert all(before[key] == 1 and after[key] == 2 for key in moved)


def test_an_unchanged_split_moves_no_keys_even_when_listed_in_another_order() -> None:
    before = sticky_assignment(split(1, 50, 2, 50))
    assert sticky_assignment(split(1, 50, 2, 50)) == before
    assert sticky_assignment(split(2, 50, 1, 50)) == before


def test_adding_a_revision_only_moves_keys_onto_it() -> None:
    # 80/20 scaled to make room for 10% of a third: rendezvous hashing decides on weight
    # ratios, and those between revisions 1 and 2 stay the same, so keys only go to 3.
    before = sticky_assignment(split(1, 80, 2, 20))
    after = sticky_assignment(
        resolve(
            {"revision": 1, "percent": 72},
            {"revision": 2, "percent": 18},
            {"revision": 3, "percent": 10},
        )
    )
    moved = {key for key in KEYS if before[key] != after[key]}
    assert {after[key] for key in moved} == {3}
    assert 0.08 <= len(moved) / len(KEYS) <= 0.12


def test_sticky_assignment_does_not_depend_on_the_process() -> None:
    # Replicas must agree on a key's revision, so the hash cannot be Python's salted hash().
    script = (
        "import json; from routing.aliases import ResolvedAlias; "
        "from routing.traffic import parse_alias_spec; "
        "spec = parse_alias_spec({'traffic': [{'revision': 1, 'percent': 50}, "
        "{'revision': 2, 'percent': 50}]}); "
        "alias = ResolvedAlias.build('hello', 'prod', spec, latest=2); "
        "print(json.dumps([alias.choose(sticky_key=f'user-{i}') for i in range(200)]))"
    )
    runs = [
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2")
    ]
    here = [split(1, 50, 2, 50).choose(sticky_key=f"user-{i}") for i in range(200)]
    assert json.loads(runs[0]) == json.loads(runs[1]) == here


# --- sticky keys from requests ------------------------------------------------------------

HEADERS = [
    (b"host", b"example.com"),
    (b"x-user-id", b"alice"),
    (b"cookie", b"theme=dark; sid=s-123"),
    (b"cookie", b'other=1; quoted="q v"'),
    (b"x-empty", b""),
]


@pytest.mark.parametrize(
    ("sticky", "query", "key"),
    [
        ("header:X-User-Id", b"", "alice"),
        ("header:x-missing", b"", None),
        ("header:x-empty", b"", None),
        ("cookie:sid", b"", "s-123"),
        ("cookie:quoted", b"", "q v"),
        ("cookie:Sid", b"", None),  # cookie names are case-sensitive
        ("cookie:the", b"", None),  # a prefix of another cookie's name is not a match
        ("query:user", b"a=1&user=bob%40example.com&b=2", "bob@example.com"),
        ("query:user", b"user=ann+lee", "ann lee"),
        ("query:user-id", b"user%2Did=7", "7"),
        ("query:user", b"user=", None),
        ("query:user", b"username=x", None),
        ("query:user", b"", None),
    ],
)
def test_sticky_key_from_request(sticky: str, query: bytes, key: str | None) -> None:
    parsed = parse_alias_spec({"sticky": sticky}).sticky
    assert parsed is not None
    assert sticky_key_from(parsed, HEADERS, query) == key
