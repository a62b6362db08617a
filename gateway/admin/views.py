"""The JSON shapes of stored records, shared by the admin API and `gaia --output json`."""

from __future__ import annotations

from gateway.snapshot import Snapshot
from gateway.store import AliasChange, AliasRecord, RevisionRecord, StoredState, TriggerRecord
from gateway.subscriptions import Subscriptions
from triggers import registry as trigger_kinds


def revision_view(record: RevisionRecord, snapshot: Snapshot) -> dict[str, object]:
    serving = sorted(
        alias
        for (function, alias), resolved in snapshot.aliases.items()
        if function == record.function
        and any(number == record.number and pct > 0 for number, pct in resolved.revisions)
    )
    return {
        "function": record.function,
        "revision": record.number,
        "name": record.label,
        "digest": record.digest,
        "created_at": record.created_at,
        "config": dict(record.config),
        "latest": snapshot.latest.get(record.function) == record.number,
        "aliases": serving,
    }


def alias_view(record: AliasRecord, snapshot: Snapshot) -> dict[str, object]:
    resolved = snapshot.aliases.get((record.function, record.name))
    latest = snapshot.latest.get(record.function)
    return {
        "function": record.function,
        "alias": record.name,
        "name": f"{record.function}:{record.name}",
        "traffic": [
            {
                "revision": entry.revision,
                "resolved_revision": latest if entry.revision == "latest" else entry.revision,
                "percent": entry.percent,
                "tag": entry.tag,
            }
            for entry in record.spec.traffic
        ],
        "sticky": str(record.spec.sticky) if record.spec.sticky else None,
        "fallback": record.spec.fallback,
        "rate_limit": record.spec.rate_limit.to_dict() if record.spec.rate_limit else None,
        "ready": resolved is not None,
        "updated_at": record.updated_at,
    }


def trigger_view(record: TriggerRecord) -> dict[str, object]:
    return {"id": record.id, "function": record.function, "kind": record.kind, **record.spec}


def live_trigger_view(record: TriggerRecord, subscriptions: Subscriptions) -> dict[str, object]:
    """The trigger, with its live `state` when it is an event source (None: not running)."""
    view = trigger_view(record)
    if trigger_kinds.kind(record.kind).subscriber is not None:
        state = subscriptions.state_of(record.id)
        view["state"] = state.to_dict() if state is not None else None
    return view


def function_view(name: str, state: StoredState, snapshot: Snapshot) -> dict[str, object]:
    created = next(f.created_at for f in state.functions if f.name == name)
    revisions = [r for r in state.revisions if r.function == name]
    return {
        "name": name,
        "created_at": created,
        "latest": snapshot.latest.get(name),
        "revisions": len(revisions),
        "aliases": [alias_view(a, snapshot) for a in state.aliases if a.function == name],
        "triggers": [trigger_view(t) for t in state.triggers if t.function == name],
    }


def history_view(change: AliasChange) -> dict[str, object]:
    return {
        "function": change.function,
        "alias": change.alias,
        "at": change.at,
        "by": change.by,
        "from": change.before.to_dict() if change.before else None,
        "to": change.after.to_dict(),
    }
