"""The discovered routes' figures against exact computations over the same generated traffic."""

from __future__ import annotations

import math
import random
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legacy.discovery.table import METHODS_LIMIT, OTHER, PATHS_REMEMBERED, DiscoveryTable

# Each old route: its pattern, and how a path of it is made from a random number.
ROUTES: list[tuple[str, Callable[[int], str]]] = [
    ("/v1/users/me", lambda n: "/v1/users/me"),
    ("/api/health", lambda n: "/api/health"),
    ("/users/{id}", lambda n: f"/users/{n}"),
    ("/users/{id}/orders/{id2}", lambda n: f"/users/{n}/orders/{n:024x}"),
    ("/files/{id}", lambda n: f"/files/{uuid.UUID(int=n)}"),
    ("/s/{id}", lambda n: f"/s/tok{n:x}Zq9_{'x' * 20}"),
]


@dataclass(frozen=True)
class Request:
    route: int
    method: str
    status: int
    duration_s: float
    failed: bool


requests = st.builds(
    Request,
    route=st.integers(0, len(ROUTES) - 1),
    method=st.sampled_from(["GET", "GET", "POST", "DELETE"]),
    status=st.sampled_from([200, 201, 404, 500, 502, 503]),
    duration_s=st.floats(1e-5, 5.0),
    failed=st.booleans(),
)


def nearest_rank(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


def feed(table: DiscoveryTable, traffic: list[Request], seed: int) -> list[str]:
    rng = random.Random(seed)
    return [
        table.observe(
            r.method, ROUTES[r.route][1](rng.randrange(1, 2**40)), r.status, r.duration_s, r.failed
        )
        for r in traffic
    ]


@settings(max_examples=100, deadline=None)
@given(st.lists(requests, min_size=1, max_size=300), st.integers(0, 2**32))
def test_figures_are_the_exact_ones(traffic: list[Request], seed: int) -> None:
    table = DiscoveryTable()
    counted = feed(table, traffic, seed)
    assert counted == [ROUTES[r.route][0] for r in traffic]
    routes = table.routes()
    by_pattern = {route.pattern: route for route in routes}
    assert set(by_pattern) == set(counted)
    for index, (pattern, _) in enumerate(ROUTES):
        mine = [r for r in traffic if r.route == index]
        if not mine:
            continue
        route = by_pattern[pattern]
        assert route.requests == len(mine)
        assert route.methods == Counter(r.method for r in mine)
        assert route.share == len(mine) / len(traffic)
        assert route.error_rate == sum(r.failed or r.status >= 500 for r in mine) / len(mine)
        for q, got in ((0.5, route.p50_ms), (0.99, route.p99_ms)):
            want = nearest_rank([r.duration_s for r in mine], q) * 1000
            assert got is not None and abs(got - want) / want <= 0.0101
    # Most traffic first.
    assert [r.requests for r in routes] == sorted((r.requests for r in routes), reverse=True)
    assert math.isclose(sum(r.share for r in routes), 1.0)


@settings(max_examples=100, deadline=None)
@given(st.lists(requests, min_size=1, max_size=200), st.integers(1, 4), st.integers(0, 2**32))
def test_patterns_past_the_limit_are_counted_under_other(
    traffic: list[Request], limit: int, seed: int
) -> None:
    table = DiscoveryTable(limit=limit)
    feed(table, traffic, seed)
    first_seen = list(dict.fromkeys(ROUTES[r.route][0] for r in traffic))
    kept, overflow = first_seen[:limit], first_seen[limit:]
    by_pattern = {route.pattern: route for route in table.routes()}
    assert set(by_pattern) == set(kept) | ({OTHER} if overflow else set())
    if overflow:
        lost = [r for r in traffic if ROUTES[r.route][0] in overflow]
        assert by_pattern[OTHER].requests == len(lost)
        assert by_pattern[OTHER].methods == Counter(r.method for r in lost)
    # Nothing is lost: every request is in some row.
    assert sum(route.requests for route in by_pattern.values()) == len(traffic) == table.total


def test_a_path_no_pattern_matches_is_counted_under_other() -> None:
    table = DiscoveryTable()
    assert table.observe("GET", "/a//b", 200, 0.01, False) == OTHER
    assert table.observe("OPTIONS", "*", 200, 0.01, False) == OTHER
    [route] = table.routes()
    assert (route.pattern, route.requests, route.share) == (OTHER, 2, 1.0)


def test_paths_counted_past_the_path_memory_keep_their_rows() -> None:
    table = DiscoveryTable(limit=2)
    assert table.observe("GET", "/a", 200, 0.01, False) == "/a"
    # Distinct paths of one more pattern fill the memory of paths past its size.
    for n in range(PATHS_REMEMBERED + 1):
        assert table.observe("GET", f"/items/{n}", 200, 0.01, False) == "/items/{id}"
    assert table.observe("GET", "/b", 200, 0.01, False) == OTHER
    # Forgotten and seen again: each path counts under the row it first did.
    for n in (0, PATHS_REMEMBERED):
        assert table.observe("GET", f"/items/{n}", 200, 0.01, False) == "/items/{id}"
    assert table.observe("GET", "/a", 200, 0.01, False) == "/a"
    assert table.observe("GET", "/b", 200, 0.01, False) == OTHER
    requests = {route.pattern: route.requests for route in table.routes()}
    assert requests == {"/a": 2, "/items/{id}": PATHS_REMEMBERED + 3, OTHER: 2}
    assert table.total == PATHS_REMEMBERED + 7


def test_methods_per_pattern_are_bounded() -> None:
    table = DiscoveryTable()
    for n in range(METHODS_LIMIT + 5):
        table.observe(f"M{n}", "/x", 200, 0.01, False)
    [route] = table.routes()
    assert len(route.methods) == METHODS_LIMIT + 1
    assert route.methods[OTHER] == 5
    assert sum(route.methods.values()) == route.requests


def test_an_upstream_failure_is_an_error_whatever_the_status() -> None:
    table = DiscoveryTable()
    table.observe("GET", "/x", 200, 0.01, True)
    table.observe("GET", "/x", 499, 0.01, False)
    table.observe("GET", "/x", 500, 0.01, False)
    table.observe("GET", "/x", 404, 0.01, False)
    assert table.routes()[0].error_rate == 0.5


@pytest.mark.parametrize(
    ("status", "duration", "message"),
    [
        (99, 0.1, "HTTP status from 100 to 599, got 99"),
        (600, 0.1, "got 600"),
        (200, -1.0, "0 seconds or more, got -1.0"),
        (200, math.nan, "got nan"),
    ],
)
def test_bad_observations_are_refused_and_change_nothing(
    status: int, duration: float, message: str
) -> None:
    table = DiscoveryTable()
    with pytest.raises(ValueError, match=message):
        table.observe("GET", "/x", status, duration, False)
    assert table.total == 0 and table.routes() == []


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 pattern, got limit 0"):
        DiscoveryTable(limit=0)
