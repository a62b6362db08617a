"""Alias traffic specs as users write them: what is accepted, and where errors point."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing import traffic
from routing.errors import InvalidSpec
from routing.traffic import (
    LATEST,
    AliasSpec,
    Sticky,
    TrafficTarget,
    parse_alias_spec,
    parse_sticky,
)

WHERE = "functions.hello.aliases.prod"


def test_parses_weights_tags_and_sticky() -> None:
    spec = parse_alias_spec(
        {
            "traffic": [
                {"revision": 1, "percent": 90},
                {"revision": "latest", "percent": 10, "tag": "canary"},
            ],
            "sticky": "header:X-User-Id",
        },
        path=WHERE,
    )
    assert spec.traffic == (
        TrafficTarget(revision=1, percent=90.0),
        TrafficTarget(revision=LATEST, percent=10.0, tag="canary"),
    )
    # Header names are case-insensitive, and ASGI hands them over lowercased.
    assert spec.sticky == Sticky(source="header", name="x-user-id")


def test_no_traffic_means_latest_at_100_percent() -> None:
    assert parse_alias_spec({}).traffic == (TrafficTarget(revision=LATEST, percent=100.0),)
    assert AliasSpec().traffic == (TrafficTarget(revision=LATEST, percent=100.0),)


def test_rollout_key_is_accepted_for_the_rollout_parser() -> None:
    spec = parse_alias_spec({"rollout": {"to": "latest"}})
    assert spec.traffic[0].revision == LATEST


def test_to_dict_parses_back_to_the_same_spec() -> None:
    spec = parse_alias_spec(
        {
            "traffic": [
                {"revision": 2, "percent": 75.5},
                {"revision": "latest", "percent": 24.5, "tag": "next"},
            ],
            "sticky": "cookie:session",
        }
    )
    assert parse_alias_spec(spec.to_dict()) == spec


def test_percents_may_carry_float_rounding() -> None:
    spec = parse_alias_spec({"traffic": [{"revision": r, "percent": 100 / 3} for r in (1, 2, 3)]})
    assert len(spec.traffic) == 3


@pytest.mark.parametrize(
    ("sticky", "source", "name"),
    [
        ("header:X-Session", "header", "x-session"),
        ("cookie:Session", "cookie", "Session"),  # cookie names are case-sensitive
        ("query:user", "query", "user"),
    ],
)
def test_sticky_sources(sticky: str, source: str, name: str) -> None:
    parsed = parse_sticky(sticky)
    assert (parsed.source, parsed.name) == (source, name)
    assert str(parsed) == f"{source}:{name}"


def _entry(**overrides: object) -> dict[str, object]:
    return {"revision": 1, "percent": 100} | overrides


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        pytest.param(
            {"traffic": [_entry(percent=60), _entry(revision=2, percent=30)]},
            "traffic",
            "add up to 90",
            id="sum-below-100",
        ),
        pytest.param(
            {"traffic": [_entry(percent=60), _entry(revision=2, percent=60)]},
            "traffic",
            "add up to 120",
            id="sum-above-100",
        ),
        pytest.param({"traffic": []}, "traffic", "empty", id="no-entries"),
        pytest.param({"traffic": {"revision": 1}}, "traffic", "expected a list", id="not-a-list"),
        pytest.param(
            {"traffic": [_entry(percent=120)]}, "traffic[0].percent", "out of range", id="pct>100"
        ),
        pytest.param(
            {"traffic": [_entry(), _entry(revision=2, percent=-5)]},
            "traffic[1].percent",
            "out of range",
            id="pct<0",
        ),
        pytest.param(
            {"traffic": [_entry(percent="100%")]},
            "traffic[0].percent",
            "expected a number",
            id="pct-string",
        ),
        pytest.param(
            {"traffic": [_entry(percent=True)]},
            "traffic[0].percent",
            "expected a number",
            id="pct-bool",
        ),
        pytest.param(
            {"traffic": [_entry(percent=float("nan"))]},
            "traffic[0].percent",
            "out of range",
            id="pct-nan",
        ),
        pytest.param(
            {
                "traffic": [
                    _entry(percent=50, tag="a"),
                    _entry(revision=2, percent=50, tag="a"),
                ]
            },
            "traffic[1].tag",
            "'a' is used twice",
            id="duplicate-tag",
        ),
        pytest.param(
            {"traffic": [_entry(tag="")]}, "traffic[0].tag", "invalid tag name", id="empty-tag"
        ),
        pytest.param(
            {"traffic": [_entry(revision=0)]}, "traffic[0].revision", "positive", id="rev-0"
        ),
        pytest.param(
            {"traffic": [_entry(revision="3")]},
            "traffic[0].revision",
            "positive",
            id="rev-string",
        ),
        pytest.param(
            {"traffic": [_entry(revision=True)]},
            "traffic[0].revision",
            "positive",
            id="rev-bool",
        ),
        pytest.param(
            {"traffic": [_entry(revision=1.5)]}, "traffic[0].revision", "positive", id="rev-float"
        ),
        pytest.param(
            {"traffic": [{"percent": 100}]}, "traffic[0].revision", "positive", id="rev-missing"
        ),
        pytest.param({"sticky": "header"}, "sticky", "header:NAME", id="sticky-no-name"),
        pytest.param({"sticky": "header:"}, "sticky", "HTTP token", id="sticky-empty-name"),
        pytest.param({"sticky": "body:x"}, "sticky", "header:NAME", id="sticky-bad-source"),
        pytest.param({"sticky": ""}, "sticky", "header:NAME", id="sticky-empty"),
        pytest.param({"sticky": 42}, "sticky", "header:NAME", id="sticky-not-string"),
        pytest.param({"trafic": []}, "", "unknown key 'trafic'", id="unknown-key"),
        pytest.param(
            {"traffic": [_entry(weight=100)]},
            "traffic[0]",
            "unknown key 'weight'",
            id="unknown-entry-key",
        ),
        pytest.param({"traffic": ["1:100"]}, "traffic[0]", "expected a mapping", id="entry-str"),
    ],
)
def test_invalid_specs_name_the_key(raw: dict[str, object], path: str, message: str) -> None:
    with pytest.raises(InvalidSpec) as caught:
        parse_alias_spec(raw, path=WHERE)
    expected_path = f"{WHERE}.{path}" if path else WHERE
    assert caught.value.path == expected_path
    assert message in caught.value.message
    assert str(caught.value).startswith(f"{expected_path}: ")


# What the previous release's parser accepted and stored (its `to_dict()`): tags were any
# non-empty string, a revision could be listed twice, a sticky name any non-empty text.
OLD_STYLE = {
    "traffic": [
        {"revision": 2, "percent": 50.0, "tag": "Next_V2"},
        {"revision": 2, "percent": 50.0},
        {"revision": 1, "percent": 0.0, "tag": "Old"},
    ],
    "sticky": "header:x user id",
}


def test_stored_specs_load_as_written_under_older_rules() -> None:
    spec = AliasSpec.from_dict(OLD_STYLE)
    assert spec.traffic == (
        TrafficTarget(revision=2, percent=50.0, tag="Next_V2"),
        TrafficTarget(revision=2, percent=50.0),
        TrafficTarget(revision=1, percent=0.0, tag="Old"),
    )
    assert spec.sticky == Sticky(source="header", name="x user id")
    assert spec.to_dict() == OLD_STYLE
    # Input is held to today's rules: the same data given again is refused.
    with pytest.raises(InvalidSpec) as caught:
        parse_alias_spec(OLD_STYLE)
    assert caught.value.path == "traffic[0].tag"
    assert caught.value.message.startswith("invalid tag name 'Next_V2'")


# The previous release's rules, as strategies: what it could have stored.
_OLD_TAGS = st.text(min_size=1, max_size=12)
_OLD_STICKY = st.builds(
    lambda source, name: f"{source}:{name.lower() if source == 'header' else name}",
    st.sampled_from(["header", "cookie", "query"]),
    st.text(min_size=1, max_size=12),
)


@st.composite
def _old_style_specs(draw: st.DrawFn) -> dict[str, object]:
    # Few revision numbers, so that lists often name one twice.
    n = draw(st.integers(1, 5))
    revisions = draw(st.lists(st.integers(1, 4) | st.just("latest"), min_size=n, max_size=n))
    cuts = sorted(draw(st.lists(st.integers(0, 100), min_size=n - 1, max_size=n - 1)))
    percents = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
    tags = draw(st.lists(_OLD_TAGS, min_size=n, max_size=n, unique=True))
    tagged = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    traffic = [
        {"revision": r, "percent": float(p)} | ({"tag": t} if keep else {})
        for r, p, t, keep in zip(revisions, percents, tags, tagged, strict=True)
    ]
    return {"traffic": traffic, "sticky": draw(st.none() | _OLD_STICKY)}


@settings(max_examples=300, deadline=None)
@given(_old_style_specs())
def test_every_spec_the_previous_release_stored_reads_back_unchanged(
    stored: dict[str, object],
) -> None:
    spec = AliasSpec.from_dict(stored)
    assert spec.to_dict() == stored
    assert sum(t.percent for t in spec.traffic) == pytest.approx(100)


def test_each_rule_runs_once_per_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: Counter[str] = Counter()
    for name in ("check_revision", "check_tag_name", "_check_percent"):
        real = getattr(traffic, name)

        def spy(*args: Any, _real: Any = real, _name: str = name, **kwargs: Any) -> Any:
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(traffic, name, spy)
    parse_alias_spec(
        {
            "traffic": [
                {"revision": 1, "percent": 90, "tag": "stable"},
                {"revision": "latest", "percent": 10, "tag": "canary"},
            ]
        }
    )
    assert calls == {"check_revision": 2, "check_tag_name": 2, "_check_percent": 2}
    # Building a spec in code, or reading a stored one, applies no input rule at all.
    AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0, tag="x"),))
    AliasSpec.from_dict(OLD_STYLE)
    assert sum(calls.values()) == 6


def _decimal_splits(seed: int) -> list[tuple[list[float], bool]]:
    """Traffic lists as people type them (up to two decimals), half summing to exactly 100
    and half off by 0.01 to 1, each with the verdict exact decimal arithmetic gives."""
    rng = random.Random(seed)
    cases: list[tuple[list[float], bool]] = []
    for i in range(2000):
        cuts = sorted(rng.randint(0, 10_000) for _ in range(rng.randint(0, 4)))
        hundredths = [b - a for a, b in zip([0, *cuts], [*cuts, 10_000], strict=True)]
        if i % 2:
            index = rng.randrange(len(hundredths))
            hundredths[index] += rng.choice([-1, 1]) * rng.randint(1, 100)
        texts = [f"{h // 100}.{h % 100:02d}" if h >= 0 else f"-{-h}" for h in hundredths]
        exact = sum(Fraction(text) for text in texts) == 100
        cases.append(([float(text) for text in texts], exact))
    return cases


def test_percents_add_up_to_100_as_exact_decimals_say() -> None:
    # The oracle is exact rational arithmetic on the decimals as written; the spec sums
    # floats, so it must tolerate their rounding and nothing more.
    for percents, exact in _decimal_splits(seed=11):
        raw = {"traffic": [{"revision": n + 1, "percent": p} for n, p in enumerate(percents)]}
        if exact:
            assert len(parse_alias_spec(raw).traffic) == len(percents), percents
        else:
            with pytest.raises(InvalidSpec):
                parse_alias_spec(raw)
