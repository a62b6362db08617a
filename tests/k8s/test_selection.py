"""Which revision a name means, and which triggers the gateway in front keeps, from the
admin API's views."""

from __future__ import annotations

from typing import Any

import pytest

from k8s.errors import RenderError
from k8s.model import Trigger
from k8s.selection import Wanted, choose, parse_wanted


def _view(aliases: dict[str, list[tuple[int, float, str | None]]], triggers: list[Any]) -> Any:
    return {
        "name": "hello",
        "latest": 3,
        "aliases": [
            {
                "alias": name,
                "traffic": [
                    {"revision": n, "resolved_revision": n, "percent": p, "tag": t}
                    for n, p, t in traffic
                ],
            }
            for name, traffic in aliases.items()
        ],
        "triggers": triggers,
    }


REVISIONS = [{"revision": n} for n in (1, 2, 3)]
HTTP = {"id": "hello/http/0", "function": "hello", "kind": "http", "path": "/a", "host": None}


def test_a_name_alone_means_the_revision_its_aliases_route_to() -> None:
    view = _view({"default": [(3, 100, None)], "prod": [(3, 100, None)]}, [])
    assert choose(view, REVISIONS, Wanted(function="hello", revision=None)).revision == 3
    # A tagged revision at 0% receives no traffic: it does not count.
    view = _view({"default": [(3, 100, None), (2, 0, "next")]}, [])
    assert choose(view, REVISIONS, Wanted(function="hello", revision=None)).revision == 3


def test_a_split_must_be_named() -> None:
    view = _view({"default": [(3, 100, None)], "prod": [(1, 90, None), (3, 10, None)]}, [])
    with pytest.raises(RenderError) as caught:
        choose(view, REVISIONS, Wanted(function="hello", revision=None))
    assert caught.value.message == (
        "hello: its aliases send traffic to @1 (prod) and @3 (default, prod); the gateway on"
        " the cluster serves one revision of each function: name it, e.g. hello@3"
    )
    assert choose(view, REVISIONS, Wanted(function="hello", revision=1)).revision == 1


def test_a_revision_that_does_not_exist_is_named() -> None:
    view = _view({"default": [(3, 100, None)]}, [])
    with pytest.raises(RenderError, match=r"hello@9 does not exist \(revisions of hello: 1, 2"):
        choose(view, REVISIONS, Wanted(function="hello", revision=9))


def test_pins_become_the_alias_when_they_reach_the_revision_else_are_left_out() -> None:
    triggers = [
        {**HTTP, "alias": "default"},
        {**HTTP, "id": "hello/http/1", "path": "/b", "alias": "prod"},
        {**HTTP, "id": "hello/http/2", "path": "/c", "revision": 3},
        {**HTTP, "id": "hello/http/3", "path": "/d", "revision": 1},
        {**HTTP, "id": "hello/http/4", "path": "/e", "alias": "prod", "tag": "next"},
        {**HTTP, "id": "hello/http/5", "path": "/f", "alias": "prod", "tag": "old"},
    ]
    view = _view({"default": [(3, 100, None)], "prod": [(3, 100, "next"), (1, 0, "old")]}, triggers)
    choice = choose(view, REVISIONS, Wanted(function="hello", revision=None))
    assert choice.triggers == (
        Trigger(kind="http", spec={"path": "/a"}),
        Trigger(kind="http", spec={"path": "/b", "alias": "prod"}),
        Trigger(kind="http", spec={"path": "/c"}),
        Trigger(kind="http", spec={"path": "/e", "alias": "prod"}),
    )
    assert choice.left_out == ("hello/http/3: pins @1", "hello/http/5: its tag old is @1")
    assert choice.aliases == ("prod",)


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        (["Hello"], "'Hello': invalid function name"),
        (["hello@x"], "'hello@x': "),
        (["hello@0"], "'hello@0': "),
        (["hello", "hello@2"], "hello is named twice"),
    ],
)
def test_bad_names_are_refused(texts: list[str], message: str) -> None:
    with pytest.raises(RenderError, match=message.replace("(", r"\(")):
        parse_wanted(texts)
