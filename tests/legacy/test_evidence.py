"""The evidence figures against exact computations over the same records."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from legacy.config import CompareConfig
from legacy.discovery.table import DiscoveryTable
from legacy.evidence import EvidenceBook, RouteEvidence, SideTally
from legacy.ports import CapturedResponse

records = st.lists(
    st.tuples(
        st.sampled_from([200, 201, 204, 301, 404, 499, 500, 502, 503, 504]),
        st.floats(1e-5, 30.0),
    ),
    max_size=300,
)


CONFIG = CompareConfig()


def _answer(body: bytes) -> CapturedResponse:
    return CapturedResponse(status=200, headers=[], body=body, duration_s=0.0)


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@given(records=records)
def test_side_figures_are_the_exact_counts_and_quantiles(records: list[tuple[int, float]]) -> None:
    side = SideTally()
    for status, duration in records:
        side.record(status, duration)
    figures = side.figures()
    errors = sum(1 for status, _ in records if status >= 500)
    assert (figures.requests, figures.errors) == (len(records), errors)
    if not records:
        assert (figures.error_rate, figures.p50_ms, figures.p99_ms) == (None, None, None)
        return
    assert figures.error_rate == errors / len(records)
    durations = [d for _, d in records]
    for q, got in ((0.5, figures.p50_ms), (0.99, figures.p99_ms)):
        exact = nearest_rank(durations, q) * 1000
        assert got is not None
        # The histogram's buckets are 2% wide: its answer is within 1% of the sample.
        assert abs(got - exact) <= 0.0101 * exact


@given(outcomes=st.lists(st.booleans(), max_size=200))
def test_the_mismatch_rate_is_mismatches_over_samples(outcomes: list[bool]) -> None:
    window = RouteEvidence(since=5.0)
    for i, differs in enumerate(outcomes):
        window.compared(["$.x: 1 != 2"] if differs else [], request=f"GET /x/{i}", at=float(i))
    evidence = window.snapshot()
    assert (evidence.samples, evidence.mismatches) == (len(outcomes), sum(outcomes))
    expected = sum(outcomes) / len(outcomes) if outcomes else None
    assert evidence.mismatch_rate == expected
    last = max((i for i, d in enumerate(outcomes) if d), default=None)
    if last is None:
        assert evidence.example is None
    else:
        assert evidence.example is not None
        assert (evidence.example.request, evidence.example.at) == (f"GET /x/{last}", last)
        assert evidence.example.differences == ("$.x: 1 != 2",)


def test_a_fresh_window_keeps_the_noise_and_nothing_else() -> None:
    book = EvidenceBook(DiscoveryTable())
    window = book.start("/a", since=1.0)
    window.noise.learn(_answer(b'{"id": 1, "at": 2}'), _answer(b'{"id": 3, "at": 4}'), CONFIG)
    window.compared(["status: 200 != 500"], request="GET /a", at=2.0)
    window.legacy.record(200, 0.01)
    book.matched(window, by_function=False)
    fresh = book.start("/a", since=3.0).snapshot()
    assert fresh.noise_paths == ("$.at", "$.id")
    assert (fresh.since, fresh.requests, fresh.samples, fresh.legacy.requests) == (3.0, 0, 0, 0)
    assert fresh.example is None
    # Totals are since the gateway started, across windows.
    assert book.totals() == (1, 0)


def test_totals_count_every_legacy_request_and_those_functions_answered() -> None:
    discovery = DiscoveryTable()
    book = EvidenceBook(discovery)
    window = book.start("/a", since=0.0)
    book.matched(window, by_function=True)
    book.matched(window, by_function=False)
    book.unmatched("GET", "/other/1", status=404, duration_s=0.1)
    assert book.totals() == (3, 1)
    (found,) = discovery.routes()
    assert (found.pattern, found.methods, found.requests) == ("/other/{id}", {"GET": 1}, 1)
    evidence = book.evidence("/a")
    assert evidence is not None and (evidence.requests, evidence.served_by_function) == (2, 1)
    book.keep_only([])
    assert book.evidence("/a") is None
