"""Which revisions may be forgotten: the oldest unreferenced ones beyond a kept number.

A revision is referenced, and so never deleted, when an alias can send it traffic (by
weight, by tag, or as `latest`), a trigger pins it, an alias's rollback would restore
it, or it is its function's newest (so that revision numbers are never reused).
"""

from __future__ import annotations

from gateway.snapshot import Snapshot
from gateway.store import RevisionRecord, StoredState


def protected(state: StoredState, snapshot: Snapshot) -> set[tuple[str, int]]:
    keep = {(key.function, key.revision) for key in snapshot.referenced()}
    for trigger in state.triggers:
        pinned = trigger.spec.get("revision")
        if isinstance(pinned, int):
            keep.add((trigger.function, pinned))
    last_change = {(h.function, h.alias): h for h in state.history}
    for change in last_change.values():
        if change.before is not None:
            keep.update(
                (change.function, t.revision)
                for t in change.before.traffic
                if isinstance(t.revision, int)
            )
    newest: dict[str, int] = {}
    for revision in state.revisions:
        newest[revision.function] = max(newest.get(revision.function, 0), revision.number)
    keep.update(newest.items())
    return keep


def prunable(state: StoredState, snapshot: Snapshot, *, keep: int) -> list[RevisionRecord]:
    """Unreferenced revisions past the newest `keep` of each function, oldest first."""
    safe = protected(state, snapshot)
    unreferenced: dict[str, list[RevisionRecord]] = {}
    for revision in sorted(state.revisions, key=lambda r: (r.function, -r.number)):
        if (revision.function, revision.number) not in safe:
            unreferenced.setdefault(revision.function, []).append(revision)
    doomed = [r for revisions in unreferenced.values() for r in revisions[keep:]]
    return sorted(doomed, key=lambda r: (r.function, r.number))
