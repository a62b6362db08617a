"""Changing the ledger: one route at a time (`gaia migrate set`/`add`), or all of it
(`gaia apply` of a file with `legacy:`); each change judged by the gates it crosses and
recorded with the evidence at that moment."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from legacy.config import GatesConfig, LegacyRouteConfig
from legacy.ledger.gates import GateRefused, crossed_gates, is_promotion, judge
from legacy.ledger.records import EvidenceAt, LedgerChange, LedgerEntry
from legacy.ports import Evidence


@dataclass(frozen=True, kw_only=True)
class Actor:
    # Who the client says it is (the admin API's one token cannot tell users apart).
    by: str
    # The operation: `apply`, `migrate set`, `migrate add`.
    channel: str


@dataclass(frozen=True, kw_only=True)
class LedgerPlan:
    """What replacing the ledger writes: entries to store, paths to forget, history."""

    entries: tuple[LedgerEntry, ...] = ()
    removed: tuple[str, ...] = ()
    changes: tuple[LedgerChange, ...] = ()


class LedgerRefused(Exception):
    """Promotions in a file the evidence does not support: (index in `routes`, refusal)."""

    def __init__(self, refusals: Sequence[tuple[int, GateRefused]]) -> None:
        self.refusals = tuple(refusals)
        super().__init__("; ".join(refusal.message for _, refusal in self.refusals))


def change_route(
    *,
    before: LedgerEntry | None,
    after: LegacyRouteConfig | None,
    evidence: Evidence | None,
    gates: GatesConfig,
    actor: Actor,
    at: float,
    force: bool = False,
) -> tuple[LedgerEntry | None, LedgerChange | None]:
    """The route's new entry (None: removed) and its history record (None: no change).

    Raises GateRefused when a promotion crosses a gate the evidence does not pass and
    `force` is not given. A route new to the ledger takes the state it is given: there
    is nothing to judge yet.
    """
    old = before.route if before else None
    if old == after:
        return before, None
    if after is None:
        assert old is not None
        path, action = old.path, "removed"
    else:
        path, action = after.path, "added" if old is None else "changed"
    gate, forced = None, False
    if old is not None and after is not None and is_promotion(old.state, after.state):
        verdicts = [judge(g, evidence, gates) for g in crossed_gates(old.state, after.state)]
        failed = tuple(v.reason for v in verdicts if not v.passed)
        if failed and not force:
            raise GateRefused(path, old.state, after.state, failed)
        gate = "; ".join(v.reason for v in verdicts) or None
        forced = bool(failed)
    record = LedgerChange(
        path=path,
        at=at,
        action=action,  # type: ignore[arg-type]
        before=old,
        after=after,
        evidence=EvidenceAt.of(evidence) if evidence is not None else None,
        actor=actor.by,
        channel=actor.channel,
        gate=gate,
        forced=forced,
    )
    if after is None:
        return None, record
    moved = old is None or old.state != after.state
    entry = LedgerEntry(
        route=after, since=at if moved or before is None else before.since, updated_at=at
    )
    return entry, record


def replace_ledger(
    current: Sequence[LedgerEntry],
    wanted: Sequence[LegacyRouteConfig],
    *,
    evidence_of: Callable[[str], Evidence | None],
    gates: GatesConfig,
    actor: Actor,
    at: float,
) -> LedgerPlan:
    """Make the ledger `wanted`, all or nothing: every refused promotion is collected
    into one LedgerRefused, so one run shows them all."""
    by_path = {entry.path: entry for entry in current}
    entries: list[LedgerEntry] = []
    changes: list[LedgerChange] = []
    refusals: list[tuple[int, GateRefused]] = []
    for index, route in enumerate(wanted):
        before = by_path.get(route.path)
        try:
            entry, change = change_route(
                before=before,
                after=route,
                evidence=evidence_of(route.path),
                gates=gates,
                actor=actor,
                at=at,
            )
        except GateRefused as refusal:
            refusals.append((index, refusal))
            continue
        if change is not None and entry is not None:
            entries.append(entry)
            changes.append(change)
    if refusals:
        raise LedgerRefused(refusals)
    kept = {route.path for route in wanted}
    removed = tuple(path for path in by_path if path not in kept)
    for path in removed:
        _, change = change_route(
            before=by_path[path],
            after=None,
            evidence=evidence_of(path),
            gates=gates,
            actor=actor,
            at=at,
        )
        assert change is not None
        changes.append(change)
    return LedgerPlan(entries=tuple(entries), removed=removed, changes=tuple(changes))
