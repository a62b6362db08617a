"""Object names fit the API server's rules for every function name gaia allows."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from k8s.names import revision_name
from routing.names import NAME_PATTERN

functions = st.from_regex(re.compile(NAME_PATTERN), fullmatch=True)
revisions = st.integers(min_value=1, max_value=10**9)
# A Service's name is a DNS-1035 label.
DNS1035 = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")


@given(functions, revisions)
def test_every_function_and_revision_has_a_valid_name(function: str, revision: int) -> None:
    name = revision_name(function, revision)
    assert len(name) <= 63 and DNS1035.fullmatch(name), name
    assert name.endswith(f"-r{revision}")
    if len(function) + len(f"-r{revision}") <= 63:
        assert name == f"{function}-r{revision}"


@given(st.lists(st.tuples(functions, revisions), min_size=2, max_size=20, unique=True))
def test_no_two_revisions_share_a_name(pairs: list[tuple[str, int]]) -> None:
    assert len({revision_name(f, r) for f, r in pairs}) == len(pairs)
