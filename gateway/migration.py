"""The control plane's side of the migration ledger: what a change to it writes.

Each function here plans one ledger change against the stored state and returns the
store Changes (entries, removals, history) for the control plane to commit, or raises
a GaiaError naming the key: `legacy.routes[2].state` for a file, `state` for a request.
The gates read the evidence from the router's `Observations` at that moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from pydantic import ValidationError

from configkit.issues import issues_of
from gateway.config import FunctionConfig, GaiaFile
from gateway.errors import Conflict, InvalidInput, NotFound, PromotionRefused
from gateway.store import Changes, StoredState
from legacy.config import GatesConfig, LegacyConfig, LegacyRouteConfig
from legacy.ledger import (
    Actor,
    GateRefused,
    LedgerEntry,
    LedgerRefused,
    change_route,
    replace_ledger,
)
from legacy.matching import LedgerRouteConflict
from legacy.matching import check_reachable as check_ledger
from legacy.ports import Observations
from routing.names import DEFAULT_ALIAS, parse_target
from routing.routes import HttpRoute


def legacy_of(state: StoredState) -> LegacyConfig | None:
    """The stored `legacy:` section with the ledger's routes, as the router serves it."""
    if state.legacy is None:
        return None
    return state.legacy.model_copy(update={"routes": tuple(e.route for e in state.ledger)})


def entry_of(state: StoredState, path: str) -> LedgerEntry:
    for entry in state.ledger:
        if entry.path == path:
            return entry
    known = ", ".join(e.path for e in state.ledger) or "none"
    raise NotFound(f"route {path!r} is not in the ledger (routes: {known})", field="path")


def check_reachable(
    state: StoredState, triggers: Iterable[HttpRoute], *, file: GaiaFile | None, field: str
) -> None:
    """Every ledger route of `state` can get a request (see legacy.matching); else
    InvalidInput naming both routes, on the applied file's route when it has that one."""
    try:
        check_ledger((entry.route for entry in state.ledger), triggers)
    except LedgerRouteConflict as exc:
        routes = file.legacy.routes if file is not None and file.legacy is not None else ()
        index = next((i for i, r in enumerate(routes) if r.path == exc.path), None)
        raise InvalidInput(
            exc.message, field=field if index is None else f"legacy.routes[{index}].path"
        ) from exc


def check_unused(state: StoredState, function: str, *, alias: str | None = None) -> None:
    """Conflict when a ledger route names the function (any of its aliases), or `alias`
    of it. Also a route still in `legacy` counts: its next move would send it requests."""
    users = []
    for entry in state.ledger:
        if entry.route.function is None:
            continue
        target = parse_target(entry.route.function)
        if target.function == function and alias in (None, target.alias or DEFAULT_ALIAS):
            users.append(f"{entry.path} ({entry.route.state})")
    if users:
        what = function if alias is None else f"{function}:{alias}"
        raise Conflict(
            f"{what} is the target of ledger route {', '.join(users)}: point the route"
            " elsewhere or take it out of legacy.routes first (gaia apply)",
            field="alias" if alias is not None else "function",
        )


def apply_changes(
    state: StoredState,
    file: GaiaFile,
    *,
    observations: Observations,
    by: str,
    at: float,
) -> Changes:
    """Replace the ledger with the file's routes; Changes() for a file without `legacy:`."""
    if file.legacy is None:
        return Changes()
    routes = file.legacy.routes
    for index, route in enumerate(routes):
        _check_function(state, route, field=f"legacy.routes[{index}].function", file=file)
    try:
        plan = replace_ledger(
            state.ledger,
            routes,
            evidence_of=observations.evidence,
            gates=file.legacy.gates,
            actor=Actor(by=by, channel="apply"),
            at=at,
        )
    except LedgerRefused as exc:
        issues = [
            {"field": f"legacy.routes[{index}].state", "message": refusal.message}
            for index, refusal in exc.refusals
        ]
        raise PromotionRefused(
            "\n".join(f"{i['field']}: {i['message']}" for i in issues),
            field=issues[0]["field"],
            errors=issues,
        ) from exc
    return Changes(
        legacy=file.legacy.model_copy(update={"routes": ()}),
        ledger=plan.entries,
        ledger_removed=plan.removed,
        ledger_history=plan.changes,
    )


def set_changes(
    state: StoredState,
    path: str,
    *,
    to: str,
    percent: float | None,
    force: bool,
    observations: Observations,
    by: str,
    at: float,
) -> Changes:
    """One route moved to another state (or percent), judged by the gates it crosses."""
    current = entry_of(state, path)
    raw = current.route.model_dump(by_alias=True, exclude_none=True)
    after = _route({**raw, "state": to, "percent": percent})
    return _one_change(
        state,
        current,
        after,
        observations=observations,
        actor=Actor(by=by, channel="migrate set"),
        at=at,
        force=force,
    )


def add_changes(
    state: StoredState,
    path: str,
    *,
    function: str,
    methods: Sequence[str] | None,
    observations: Observations,
    by: str,
    at: float,
) -> Changes:
    """A route new to the ledger, in state `legacy`: the old API keeps answering it."""
    if state.legacy is None:
        raise Conflict(
            "the gateway fronts no old API yet: apply a gaia.yaml with legacy.upstream first",
            field="path",
        )
    if any(e.path == path for e in state.ledger):
        raise Conflict(
            f"route {path!r} is in the ledger already: use gaia migrate set", field="path"
        )
    if methods is None:
        methods = _discovered_methods(observations, path)
    after = _route({"path": path, "function": function, "methods": list(methods)})
    _check_function(state, after, field="function")
    return _one_change(
        state,
        None,
        after,
        observations=observations,
        actor=Actor(by=by, channel="migrate add"),
        at=at,
    )


def _one_change(
    state: StoredState,
    before: LedgerEntry | None,
    after: LegacyRouteConfig,
    *,
    observations: Observations,
    actor: Actor,
    at: float,
    force: bool = False,
) -> Changes:
    try:
        entry, change = change_route(
            before=before,
            after=after,
            evidence=observations.evidence(after.path),
            gates=_gates(state),
            actor=actor,
            at=at,
            force=force,
        )
    except GateRefused as exc:
        raise PromotionRefused(exc.message, field="state") from exc
    if change is None or entry is None:
        return Changes()
    return Changes(ledger=(entry,), ledger_history=(change,))


def _gates(state: StoredState) -> GatesConfig:
    return state.legacy.gates if state.legacy is not None else GatesConfig()


def _route(raw: Mapping[str, object]) -> LegacyRouteConfig:
    try:
        return LegacyRouteConfig.model_validate(raw)
    except ValidationError as exc:
        issues = [
            {"field": path or "state", "message": message} for path, message in issues_of(exc)
        ]
        raise InvalidInput(
            "; ".join(f"{i['field']}: {i['message']}" for i in issues),
            field=issues[0]["field"],
            errors=issues,
        ) from exc


def _discovered_methods(observations: Observations, path: str) -> tuple[str, ...]:
    """The methods the old API was seen to take on this pattern, most used first."""
    for route in observations.discovered():
        if route.pattern == path and route.methods:
            return tuple(sorted(route.methods, key=lambda m: -route.methods[m]))
    return ("GET",)


def _check_function(
    state: StoredState, route: LegacyRouteConfig, *, field: str, file: GaiaFile | None = None
) -> None:
    """The route's function exists (in the file or the store), and so does its alias."""
    if route.function is None:
        return
    target = parse_target(route.function)
    in_file: FunctionConfig | None = file.functions.get(target.function) if file else None
    stored = any(f.name == target.function for f in state.functions)
    if in_file is None and not stored:
        raise InvalidInput(
            f"route {route.path} goes to function {target.function!r}, which does not exist:"
            " expected a function in this file or already deployed",
            field=field,
        )
    alias = target.alias or DEFAULT_ALIAS
    if alias == DEFAULT_ALIAS:
        return
    if (in_file is not None and alias in in_file.aliases) or any(
        a.function == target.function and a.name == alias for a in state.aliases
    ):
        return
    raise InvalidInput(
        f"route {route.path} goes to alias {target.function}:{alias}, which is not defined",
        field=field,
    )
