"""One route's changes and a whole ledger replaced: judged, recorded, all or nothing."""

from __future__ import annotations

import pytest

from legacy.config import GatesConfig, LegacyRouteConfig
from legacy.ledger import (
    Actor,
    EvidenceAt,
    GateRefused,
    LedgerEntry,
    LedgerRefused,
    change_route,
    replace_ledger,
)
from legacy.ports import Evidence
from tests.legacy.evidence import evidence

SET = Actor(by="ada@laptop", channel="migrate set")
GATES = GatesConfig()


def route(
    path: str = "/items/{id}", *, state: str = "shadow", percent: float | None = None
) -> LegacyRouteConfig:
    return LegacyRouteConfig.model_validate(
        {"path": path, "function": "items", "state": state, "percent": percent}
    )


def entry(config: LegacyRouteConfig, since: float = 10.0) -> LedgerEntry:
    return LedgerEntry(route=config, since=since, updated_at=since)


def test_a_new_route_takes_its_state_unjudged() -> None:
    added, change = change_route(
        before=None, after=route(state="function"), evidence=None, gates=GATES, actor=SET, at=50.0
    )
    assert added == LedgerEntry(route=route(state="function"), since=50.0, updated_at=50.0)
    assert change is not None
    assert (change.action, change.before, change.gate, change.forced) == (
        "added",
        None,
        None,
        False,
    )
    assert (change.actor, change.channel, change.at) == ("ada@laptop", "migrate set", 50.0)


def test_a_refused_promotion_names_the_numbers_and_force_overrides_it_on_record() -> None:
    bad = evidence(samples=140, mismatches=5, legacy=(140, 0), function=(140, 0))
    with pytest.raises(GateRefused) as refused:
        change_route(
            before=entry(route()),
            after=route(state="canary", percent=20),
            evidence=bad,
            gates=GATES,
            actor=SET,
            at=60.0,
        )
    assert refused.value.message == (
        "/items/{id}: shadow → canary refused: mismatch rate 3.6% (5 of 140) over 140 samples"
        " is not under 1.0% (--force overrides)"
    )
    moved, change = change_route(
        before=entry(route()),
        after=route(state="canary", percent=20),
        evidence=bad,
        gates=GATES,
        actor=SET,
        at=60.0,
        force=True,
    )
    assert change is not None and moved is not None
    assert change.forced is True
    assert change.gate == "mismatch rate 3.6% (5 of 140) over 140 samples is not under 1.0%"
    assert change.evidence == EvidenceAt.of(bad)
    assert (change.evidence.samples, change.evidence.mismatches) == (140, 5)
    assert moved.since == 60.0


def test_a_passed_promotion_records_why_and_is_not_forced() -> None:
    good = evidence(samples=300, mismatches=1)
    _, change = change_route(
        before=entry(route()),
        after=route(state="canary", percent=5),
        evidence=good,
        gates=GATES,
        actor=SET,
        at=60.0,
        force=True,
    )
    assert change is not None
    assert (change.forced, change.gate) == (
        False,
        "mismatch rate 0.3% (1 of 300) over 300 samples is under 1.0%",
    )


@pytest.mark.parametrize(
    ("before", "after"),
    [("function", "shadow"), ("retired", "legacy"), ("canary", "shadow"), ("function", "canary")],
)
def test_moving_back_is_never_gated(before: str, after: str) -> None:
    old = route(state=before, percent=50 if before == "canary" else None)
    moved, change = change_route(
        before=entry(old),
        after=route(state=after, percent=10 if after == "canary" else None),
        evidence=None,
        gates=GATES,
        actor=SET,
        at=70.0,
    )
    assert moved is not None and change is not None
    assert (moved.route.state, change.gate, change.forced) == (after, None, False)


def test_a_percent_change_keeps_the_window_and_the_same_route_records_nothing() -> None:
    canary = entry(route(state="canary", percent=10), since=10.0)
    moved, change = change_route(
        before=canary,
        after=route(state="canary", percent=50),
        evidence=None,
        gates=GATES,
        actor=SET,
        at=80.0,
    )
    assert moved is not None and change is not None
    assert (moved.since, moved.updated_at, change.action) == (10.0, 80.0, "changed")
    same, nothing = change_route(
        before=canary, after=canary.route, evidence=None, gates=GATES, actor=SET, at=90.0
    )
    assert (same, nothing) == (canary, None)


def test_replacing_the_ledger_collects_every_refusal_and_changes_nothing() -> None:
    current = [
        entry(route("/a")),
        entry(route("/b", state="canary", percent=10)),
        entry(route("/c")),
    ]
    wanted = [
        route("/a", state="canary", percent=5),
        route("/b", state="function"),
        route("/c"),
    ]
    observed: dict[str, Evidence] = {"/a": evidence(samples=10)}
    with pytest.raises(LedgerRefused) as refused:
        replace_ledger(current, wanted, evidence_of=observed.get, gates=GATES, actor=SET, at=99.0)
    assert [(index, r.path) for index, r in refused.value.refusals] == [(0, "/a"), (1, "/b")]


def test_replacing_the_ledger_adds_changes_and_removes_with_history() -> None:
    current = [entry(route("/a")), entry(route("/gone", state="function"))]
    wanted = [route("/a", state="legacy"), route("/new", state="shadow")]
    plan = replace_ledger(
        current,
        wanted,
        evidence_of=lambda path: None,
        gates=GATES,
        actor=Actor(by="ci", channel="apply"),
        at=99.0,
    )
    assert [e.path for e in plan.entries] == ["/a", "/new"]
    assert plan.removed == ("/gone",)
    assert [(c.path, c.action) for c in plan.changes] == [
        ("/a", "changed"),
        ("/new", "added"),
        ("/gone", "removed"),
    ]
    assert plan.changes[2].after is None and plan.changes[2].before == route(
        "/gone", state="function"
    )
