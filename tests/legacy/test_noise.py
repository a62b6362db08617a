"""Noise learned from two answers of an old API: random ids and timestamps, never stable fields."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacy.compare import Json
from legacy.config import CompareConfig
from legacy.noise import RouteNoise
from legacy.ports import CapturedResponse
from tests.legacy.jsongen import documents, keys

NOISE = ("$.created_at", "$.items[*].id", "$.items[*].meta.trace", "$.request_id")


class OldApi:
    """Renders one route's answer: the same stable fields, fresh ids and times each call."""

    def __init__(self, stable: dict[str, Json], names: list[Json], seed: int) -> None:
        self.stable, self.names = stable, names
        self.rng = random.Random(seed)
        self.clock = datetime(2026, 1, 1, tzinfo=UTC)

    def answer(self, **changed: Json) -> CapturedResponse:
        self.clock += timedelta(microseconds=self.rng.randrange(1, 10**6))
        body: dict[str, Json] = {
            **self.stable,
            "request_id": str(uuid.UUID(int=self.rng.getrandbits(128))),
            "created_at": self.clock.isoformat(),
            "items": [
                {"id": self.rng.getrandbits(62), "name": name, "meta": {"trace": self.token()}}
                for name in self.names
            ],
            **changed,
        }
        return CapturedResponse(
            status=200,
            headers=[(b"content-type", b"application/json")],
            body=json.dumps(body).encode(),
            duration_s=0.01,
        )

    def token(self) -> str:
        return "".join(self.rng.choices("abcdef0123456789", k=16))


stable_fields = st.dictionaries(keys.map(lambda k: f"s_{k}"), documents(), max_size=4)


@settings(max_examples=100, deadline=None)
@given(stable_fields, st.lists(documents(), min_size=1, max_size=4), st.integers(0, 2**32))
def test_random_ids_and_times_are_learned_and_stable_fields_never(
    stable: dict[str, Json], names: list[Json], seed: int
) -> None:
    api, noise, config = OldApi(stable, names, seed), RouteNoise(), CompareConfig()
    learned = noise.learn(api.answer(), api.answer(), config)
    # Each list element's id is learned once, as `[*]`, and nothing stable is.
    assert sorted(learned) == list(NOISE)
    assert noise.paths() == NOISE
    # Learned already: two more old answers add nothing.
    assert noise.learn(api.answer(), api.answer(), config) == ()
    # A function giving the stable fields right, with its own ids and times, matches.
    assert noise.compare(api.answer(), api.answer(), config).differences == ()
    # A stable field it gets wrong is still a mismatch, and the noise around it is not.
    wrong = noise.compare(api.answer(), api.answer(s_wrong=1), config)
    assert wrong.lines() == ("$.s_wrong: <absent> != 1",)


def test_a_changed_length_learns_the_list_and_drops_its_children() -> None:
    api, noise, config = OldApi({}, ["a", "b"], 1), RouteNoise(), CompareConfig()
    noise.learn(api.answer(), api.answer(), config)
    learned = noise.learn(api.answer(), api.answer(items=[]), config)
    assert learned == ("$.items[*]",)
    assert noise.paths() == ("$.created_at", "$.items[*]", "$.request_id")


def test_ignored_paths_are_not_learned_and_a_status_never_is() -> None:
    api, noise = OldApi({}, ["a"], 2), RouteNoise()
    config = CompareConfig(ignore=("$.request_id", "$.items"))
    first, second = api.answer(), api.answer()
    flaky = CapturedResponse(
        status=503, headers=second.headers, body=second.body, duration_s=second.duration_s
    )
    assert noise.learn(first, flaky, config) == ("$.created_at",)
    assert noise.compare(first, flaky, config).lines() == ("status: 200 != 503",)


def test_headers_and_plain_bodies_are_learned_by_name() -> None:
    noise, config = RouteNoise(), CompareConfig(headers=("content-type", "etag"))

    def plain(etag: bytes, body: bytes) -> CapturedResponse:
        headers = [(b"content-type", b"text/plain"), (b"etag", etag)]
        return CapturedResponse(status=200, headers=headers, body=body, duration_s=0.0)

    assert noise.learn(plain(b'"1"', b"t=1"), plain(b'"2"', b"t=2"), config) == (
        "header:etag",
        "body",
    )
    assert noise.compare(plain(b'"3"', b"x"), plain(b'"4"', b"y"), config).differences == ()


def test_the_set_is_bounded_sorted_and_counts_what_it_dropped() -> None:
    noise, config = RouteNoise(limit=3), CompareConfig()

    def keyed(values: dict[str, int]) -> CapturedResponse:
        body = json.dumps(values).encode()
        return CapturedResponse(status=200, headers=[], body=body, duration_s=0.0)

    learned = noise.learn(keyed({k: 1 for k in "edcba"}), keyed({k: 2 for k in "edcba"}), config)
    assert learned == ("$.e", "$.d", "$.c")
    assert noise.paths() == ("$.c", "$.d", "$.e")
    assert noise.dropped == 2
    # What did not fit still counts as a mismatch.
    assert [
        d.where for d in noise.compare(keyed({"a": 1}), keyed({"a": 2}), config).differences
    ] == ["$.a"]


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 path, got 0"):
        RouteNoise(limit=0)
