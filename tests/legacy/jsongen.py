"""Generated JSON documents, and pairs of them that differ in places, for the property tests."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from legacy.compare import Json

# Short keys so that pairs share keys often and the ignore paths can be written as
# DeepDiff regexes without escaping; odd keys have their own tests.
keys = st.text(alphabet="abcxyz", min_size=1, max_size=2)
scalars: st.SearchStrategy[Json] = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, -2.0, 2.5, 1e20])
    | st.integers(10**20 - 1, 10**20 + 1)
    | st.text(alphabet='ab\u00e9"\\ ', max_size=3)
)


def documents(leaves: st.SearchStrategy[Json] = scalars) -> st.SearchStrategy[Json]:
    return st.recursive(
        leaves,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
        max_leaves=25,
    )


@st.composite
def variant(draw: st.DrawFn, value: Json) -> Json:
    """`value` with some changes: replaced leaves, added or dropped keys and elements.

    An integer sometimes becomes the equal float, which must not count as a change, and a
    boolean the integer Python holds equal to it, which must.
    """
    choice = draw(st.integers(0, 9))
    if choice == 0:
        return draw(documents())
    if isinstance(value, dict):
        changed = {k: draw(variant(v)) for k, v in value.items()}
        for key in draw(st.lists(st.sampled_from(sorted(value)), max_size=1)) if value else []:
            del changed[key]
        changed.update(draw(st.dictionaries(keys, scalars, max_size=1)))
        return changed
    if isinstance(value, list):
        items = [draw(variant(v)) for v in value]
        return (
            items[: draw(st.integers(0, len(items)))]
            if choice == 1
            else items + draw(st.lists(scalars, max_size=1))
        )
    if isinstance(value, bool) and choice < 4:
        return int(value)
    if isinstance(value, int) and choice < 4:
        return float(value)
    return draw(scalars) if choice < 6 else value


@st.composite
def pairs(draw: st.DrawFn) -> tuple[Json, Json]:
    old = draw(documents())
    return old, draw(variant(old))


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()
