"""The JSON shapes of the ledger, shared by the admin API and `gaia migrate -o json`."""

from __future__ import annotations

from legacy.config import STATES, GatesConfig, LegacyRouteConfig
from legacy.ledger import LedgerChange, LedgerEntry, crossed_gates, judge
from legacy.ports import DiscoveredRoute, Evidence, SideFigures


def _side(side: SideFigures) -> dict[str, object]:
    return {
        "requests": side.requests,
        "errors": side.errors,
        "error_rate": side.error_rate,
        "p50_ms": side.p50_ms,
        "p99_ms": side.p99_ms,
    }


def evidence_view(evidence: Evidence) -> dict[str, object]:
    example = evidence.example
    return {
        "since": evidence.since,
        "requests": evidence.requests,
        "served_by_function": evidence.served_by_function,
        "function_share": (
            evidence.served_by_function / evidence.requests if evidence.requests else None
        ),
        "legacy": _side(evidence.legacy),
        "function": _side(evidence.function),
        "samples": evidence.samples,
        "mismatches": evidence.mismatches,
        "mismatch_rate": evidence.mismatch_rate,
        "shadow_dropped": evidence.shadow_dropped,
        "shadow_skipped": evidence.shadow_skipped,
        "noise_paths": list(evidence.noise_paths),
        "example": (
            {"request": example.request, "differences": list(example.differences), "at": example.at}
            if example
            else None
        ),
    }


def next_gate(
    route: LegacyRouteConfig, evidence: Evidence | None, gates: GatesConfig
) -> dict[str, object] | None:
    """The next state along the migration and whether its gate would let the route in now."""
    index = STATES.index(route.state)
    if index + 1 == len(STATES):
        return None
    target = STATES[index + 1]
    verdicts = [judge(gate, evidence, gates) for gate in crossed_gates(route.state, target)]
    return {
        "state": target,
        "allowed": all(v.passed for v in verdicts),
        "reasons": [v.reason for v in verdicts],
    }


def ledger_route_view(
    entry: LedgerEntry, evidence: Evidence | None, gates: GatesConfig
) -> dict[str, object]:
    route = entry.route
    return {
        **_route_fields(route),
        "shadow_unsafe": route.shadow_unsafe,
        "since": entry.since,
        "updated_at": entry.updated_at,
        "evidence": evidence_view(evidence) if evidence is not None else None,
        "next": next_gate(route, evidence, gates),
    }


def discovered_view(route: DiscoveredRoute, *, in_ledger: bool) -> dict[str, object]:
    return {
        "pattern": route.pattern,
        "methods": dict(route.methods),
        "requests": route.requests,
        "share": route.share,
        "error_rate": route.error_rate,
        "p50_ms": route.p50_ms,
        "p99_ms": route.p99_ms,
        "in_ledger": in_ledger,
    }


def _route_config(route: LegacyRouteConfig | None) -> dict[str, object] | None:
    return _route_fields(route) if route is not None else None


def _route_fields(route: LegacyRouteConfig) -> dict[str, object]:
    return {
        "path": route.path,
        "methods": list(route.methods),
        "function": route.function,
        "state": route.state,
        "percent": route.percent,
    }


def _what_changed(change: LedgerChange) -> list[str]:
    before, after = change.before, change.after
    if before is None or after is None:
        shown = after or before
        assert shown is not None
        percent = f" {shown.percent:g}%" if shown.percent is not None else ""
        return [f"{change.action} as {shown.state}{percent}"]
    found = []
    for name in ("state", "percent", "function", "methods", "shadow_unsafe", "compare"):
        old, new = getattr(before, name), getattr(after, name)
        if old != new:
            found.append(f"{name} {_text(old)} → {_text(new)}")
    return found


def _text(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:g}%"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def ledger_change_view(change: LedgerChange) -> dict[str, object]:
    return {
        "path": change.path,
        "at": change.at,
        "action": change.action,
        "changes": _what_changed(change),
        "from": _route_config(change.before),
        "to": _route_config(change.after),
        "evidence": change.evidence.to_dict() if change.evidence else None,
        "by": change.actor,
        "channel": change.channel,
        "gate": change.gate,
        "forced": change.forced,
    }
