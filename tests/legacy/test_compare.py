"""Comparisons of two answers; JSON bodies against DeepDiff as the oracle."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from deepdiff import DeepDiff
from hypothesis import given, settings
from hypothesis import strategies as st

from legacy.compare import (
    Json,
    SkipSet,
    Step,
    compare,
    json_path,
    normalise_header,
    parse_json_path,
)
from legacy.config import CompareConfig
from legacy.ports import CapturedResponse
from tests.legacy.jsongen import documents, dumps, pairs

JSON_HEADERS = [(b"content-type", b"application/json")]
# DeepDiff holds True == 1 as Python does, and JSON does not: the oracle sees booleans
# as strings no generated document holds (the generated strings have no NUL).
_BOOLS = {True: "\x00true", False: "\x00false"}


def answer(
    body: bytes | None, *, status: int = 200, headers: list[tuple[bytes, bytes]] | None = None
) -> CapturedResponse:
    return CapturedResponse(
        status=status,
        headers=JSON_HEADERS if headers is None else headers,
        body=body,
        duration_s=0.01,
    )


def for_oracle(value: Json) -> object:
    if isinstance(value, bool):
        return _BOOLS[value]
    if isinstance(value, dict):
        return {k: for_oracle(v) for k, v in value.items()}
    if isinstance(value, list):
        return [for_oracle(v) for v in value]
    return value


def oracle_paths(old: Json, new: Json, ignore: tuple[str, ...] = ()) -> set[tuple[Step, ...]]:
    tree = DeepDiff(
        for_oracle(old),
        for_oracle(new),
        # Numbers by value: 1 == 1.0, as JSON means them.
        ignore_type_in_groups=[(int, float)],
        # Arrays index by index, never realigned.
        zip_ordered_iterables=True,
        # Never one "changed" for an object whose keys mostly differ: each key its own.
        threshold_to_diff_deeper=0,
        exclude_regex_paths=[deepdiff_regex(path) for path in ignore],
        view="tree",
    )
    return {tuple(level.path(output_format="list")) for levels in tree.values() for level in levels}


def deepdiff_regex(path: str) -> str:
    """Our `$.a[*].b` as a regex over DeepDiff's `root['a'][0]['b']` (keys need no escaping)."""
    steps = re.findall(r"\.([a-z]+)|\[(\d+|\*)\]", path[1:])
    parts = [
        f"\\['{key}'\\]" if key else ("\\[\\d+\\]" if index == "*" else f"\\[{index}\\]")
        for key, index in steps
    ]
    return "^root" + "".join(parts) + "$"


def reported_paths(old: Json, new: Json, ignore: tuple[str, ...] = ()) -> set[tuple[Step, ...]]:
    comparison = compare(answer(dumps(old)), answer(dumps(new)), CompareConfig(ignore=ignore))
    assert comparison.body_compared
    return {parse_json_path(d.where) for d in comparison.differences}


def all_paths(value: Json, at: tuple[Step, ...] = ()) -> Iterator[tuple[Step, ...]]:
    yield at
    if isinstance(value, dict):
        for key, item in value.items():
            yield from all_paths(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from all_paths(item, (*at, index))


# No deadline: DeepDiff's time on a shared machine is not what is under test.
@settings(max_examples=200, deadline=None)
@given(pairs())
def test_reported_paths_are_deepdiffs(pair: tuple[Json, Json]) -> None:
    old, new = pair
    assert reported_paths(old, new) == oracle_paths(old, new)


@settings(max_examples=200, deadline=None)
@given(pairs(), st.data())
def test_ignored_paths_skip_what_deepdiff_excludes(
    pair: tuple[Json, Json], data: st.DataObject
) -> None:
    old, new = pair
    candidates = sorted(set(all_paths(old)) | set(all_paths(new)), key=repr)
    chosen = data.draw(st.lists(st.sampled_from(candidates), max_size=3))
    # Some indices become `[*]`, so one ignore path covers every element.
    ignore = tuple(
        json_path(None if isinstance(s, int) and data.draw(st.booleans()) else s for s in path)
        for path in chosen
        if path  # `$` itself ignores everything; its own test below
    )
    assert reported_paths(old, new, ignore) == oracle_paths(old, new, ignore)


@settings(deadline=None)
@given(documents())
def test_an_answer_equals_itself_reformatted(value: Json) -> None:
    pretty = __import__("json").dumps(value, indent=2, ensure_ascii=True).encode()
    assert compare(answer(dumps(value)), answer(pretty), CompareConfig()).differences == ()


def test_differences_name_the_path_and_both_values() -> None:
    old = {"items": [{"id": 1, "price": 10, "tags": ["a"]}], "total": 1, "gone": True}
    new = {"items": [{"id": 1.0, "price": 12, "tags": ["a", "b"]}], "total": "1", "new": None}
    lines = compare(answer(dumps(old)), answer(dumps(new)), CompareConfig()).lines()
    assert lines == (
        "$.items[0].price: 10 != 12",
        '$.items[0].tags[1]: <absent> != "b"',
        '$.total: 1 != "1"',
        "$.gone: true != <absent>",
        "$.new: <absent> != null",
    )


def test_true_is_not_one_and_strings_compare_exactly() -> None:
    old, new = {"a": True, "b": "x", "c": 0}, {"a": 1, "b": "x ", "c": False}
    paths = [
        d.where
        for d in compare(answer(dumps(old)), answer(dumps(new)), CompareConfig()).differences
    ]
    assert paths == ["$.a", "$.b", "$.c"]


def test_odd_keys_are_written_so_they_read_back() -> None:
    old = {"a.b": 1, "": 1, "[0]": 1, 'q"': 1, "x y": 1}
    new = {key: 2 for key in old}
    wheres = [
        d.where
        for d in compare(answer(dumps(old)), answer(dumps(new)), CompareConfig()).differences
    ]
    assert wheres == ['$["a.b"]', '$[""]', '$["[0]"]', '$.q"', "$.x y"]
    assert [parse_json_path(w) for w in wheres] == [(k,) for k in old]
    ignored = compare(answer(dumps(old)), answer(dumps(new)), CompareConfig(), skip=wheres)
    assert ignored.differences == ()


def test_a_skip_path_covers_its_subtree_and_star_only_indices() -> None:
    skipped = SkipSet(["$.a[*].b", "header:ETag"])
    assert skipped.skips(("a", 3, "b")) and skipped.skips(("a", 0, "b", "c", 1))
    assert not skipped.skips(("a", "3", "b")) and not skipped.skips(("a", 0))
    assert skipped.skips_part("header:etag") and not skipped.skips_part("body")


def test_ignoring_the_root_ignores_the_body_but_not_the_status() -> None:
    comparison = compare(answer(b"[1]"), answer(b"[2]", status=201), CompareConfig(ignore=("$",)))
    assert comparison.lines() == ("status: 200 != 201",)


@pytest.mark.parametrize("path", ["items", "$.", "$[x]", "$.a[-1]", "$..a", '$["a]'])
def test_a_bad_path_is_refused_by_name(path: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(path))):
        parse_json_path(path)


def test_bodies_that_are_not_json_compare_as_bytes() -> None:
    config = CompareConfig()
    text = [(b"content-type", b"text/plain")]
    same = compare(answer(b"hello", headers=text), answer(b"hello", headers=text), config)
    assert same.differences == ()
    # JSON on one side only is a different body, whatever the value would be.
    lines = compare(answer(b"1", headers=text), answer(b"one", headers=text), config).lines()
    assert lines == ("body: 1 bytes b'1' != 3 bytes b'one'",)
    assert compare(answer(b"NaN"), answer(b"NaN "), config).lines()[0].startswith("body:")
    assert compare(answer(b"a"), answer(b"b"), config, skip=["body"]).differences == ()


def test_long_values_are_shortened_in_the_example() -> None:
    lines = compare(
        answer(dumps({"a": "x" * 500})), answer(dumps({"a": "y"})), CompareConfig()
    ).lines()
    assert len(lines[0]) < 200 and lines[0].startswith('$.a: "xxx') and "…" in lines[0]


def test_an_uncaptured_body_is_not_compared_but_status_and_headers_are() -> None:
    comparison = compare(answer(None), answer(b"{}", status=500), CompareConfig())
    assert not comparison.body_compared
    assert comparison.lines() == ("status: 200 != 500",)
    assert compare(answer(b"[]"), answer(None), CompareConfig()).differences == ()


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("content-type", "application/json; charset=utf-8", "application/json"),
        ("content-type", "application/problem+json;charset=UTF-8", "Application/Problem+JSON"),
        ("content-type", 'text/html; charset="UTF-8"', "text/html;charset=utf-8"),
        ("content-type", "text/plain; a=1; b=2", "text/plain; B=2; a=1"),
        ("content-type", " text/plain ", "text/plain"),
        ("vary", "Accept-Encoding, Origin", "origin,accept-encoding"),
        ("cache-control", "no-cache, max-age=0", "max-age=0,no-cache,"),
        ("cache-control", 'private="a, b"', 'private="a, b"'),
        ("allow", "GET, POST", "POST,GET"),
        ("content-encoding", "gzip, br", "GZIP,br"),
        ("x-custom", "  same", "same "),
    ],
)
def test_equivalent_header_values(name: str, old: str, new: str) -> None:
    assert normalise_header(name, old) == normalise_header(name, new)
    assert header_differences(name, old, new) == ()


@pytest.mark.parametrize(
    ("name", "old", "new"),
    [
        ("content-type", "application/json", "text/json"),
        ("content-type", "text/html; charset=utf-8", "text/html; charset=latin-1"),
        ("content-type", "text/html; charset=utf-8", "text/html"),
        ("content-type", 'text/plain; a="X"', "text/plain; a=x"),
        ("content-encoding", "gzip, br", "br, gzip"),
        ("allow", "GET", "get"),
        ("cache-control", 'private="a, b"', 'private="a", b'),
        ("etag", '"abc"', 'W/"abc"'),
    ],
)
def test_different_header_values(name: str, old: str, new: str) -> None:
    assert header_differences(name, old, new) == (f"header:{name}: {old} != {new}",)


def header_differences(name: str, old: str, new: str) -> tuple[str, ...]:
    """Two answers differing in one chosen header alone, compared."""
    config = CompareConfig(headers=(name,))
    old_answer = answer(b"", headers=[(name.encode(), old.encode())])
    return compare(old_answer, answer(b"", headers=[(name.encode(), new.encode())]), config).lines()


def test_repeated_header_lines_are_one_value_and_absence_is_shown() -> None:
    config = CompareConfig(headers=("vary", "x-a"))
    old = answer(b"", headers=[(b"vary", b"origin"), (b"Vary", b"accept"), (b"x-a", b"1")])
    new = answer(b"", headers=[(b"vary", b"accept, origin")])
    assert compare(old, new, config).lines() == ("header:x-a: 1 != <absent>",)
    assert compare(old, new, config, skip=["header:x-a"]).differences == ()
