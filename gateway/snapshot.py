"""What the data plane reads: an immutable view of routes, aliases and revisions.

The control plane builds a new Snapshot after every committed change and swaps it in
with one assignment, so a request sees either the old state or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gateway.config import RevisionConfig
from gateway.store import StoredState
from limits.spec import RateLimit, RevisionLimits
from routing.aliases import ResolvedAlias
from routing.names import DEFAULT_ALIAS, Target
from routing.routes import HttpRoute, RouteTable
from runtime_adapters.base import RevisionKey, RevisionSpec
from triggers import registry as trigger_kinds


@dataclass(frozen=True, kw_only=True)
class Snapshot:
    routes: RouteTable = field(default_factory=lambda: RouteTable(()))
    aliases: Mapping[tuple[str, str], ResolvedAlias] = field(default_factory=dict)
    revisions: Mapping[RevisionKey, RevisionSpec] = field(default_factory=dict)
    latest: Mapping[str, int] = field(default_factory=dict)
    # The limits: per revision (its function's `circuit` and `concurrency_limit` when
    # it was published) and per trigger (`rate_limit`); only those that have some.
    revision_limits: Mapping[RevisionKey, RevisionLimits] = field(default_factory=dict)
    trigger_limits: Mapping[str, RateLimit] = field(default_factory=dict)

    def referenced(self) -> set[RevisionKey]:
        """Revisions some alias can send traffic to (by weight, by tag, or as the
        fallback of an open circuit)."""
        keys: set[RevisionKey] = set()
        for (function, _), alias in self.aliases.items():
            numbers = {number for number, _ in alias.revisions} | set(alias.tags.values())
            if alias.fallback is not None:
                numbers.add(alias.fallback)
            keys.update(RevisionKey(function=function, revision=n) for n in numbers)
        return keys


# A revision's spec and limits by key and digest: a revision never changes.
SpecCache = dict[tuple[RevisionKey, str], tuple[RevisionSpec, RevisionLimits]]


def build_snapshot(
    state: StoredState,
    *,
    bundles_root: Path,
    unusable: frozenset[RevisionKey] = frozenset(),
    specs: SpecCache | None = None,
) -> Snapshot:
    """Derive the routing view from stored records.

    `unusable` holds revisions that failed to warm since start: `latest` skips them.
    `specs` keeps each revision's spec between builds (by key and digest: a revision
    never changes), since validating every revision's config again on every change is
    most of a build's cost.
    """
    known: SpecCache = {} if specs is None else specs
    revisions: dict[RevisionKey, RevisionSpec] = {}
    revision_limits: dict[RevisionKey, RevisionLimits] = {}
    for r in state.revisions:
        key = RevisionKey(function=r.function, revision=r.number)
        cached = known.get((key, r.digest))
        if cached is None:
            config = RevisionConfig.from_dict(r.config)
            spec = config.spec(
                function=r.function,
                revision=r.number,
                digest=r.digest,
                bundle_dir=bundles_root / r.digest,
            )
            cached = known[(key, r.digest)] = (spec, config.limits)
        revisions[key], limits = cached
        if not limits.empty:
            revision_limits[key] = limits
    if specs is not None and len(specs) > len(revisions):
        # Forget revisions that are gone, so the cache stays the size of the state.
        for gone in [k for k in specs if revisions.get(k[0]) is not specs[k][0]]:
            del specs[gone]
    latest: dict[str, int] = {}
    for key in revisions:
        if key not in unusable and key.revision > latest.get(key.function, 0):
            latest[key.function] = key.revision
    aliases = {
        (a.function, a.name): ResolvedAlias.build(
            a.function, a.name, a.spec, latest=latest[a.function]
        )
        for a in state.aliases
        if a.function in latest
    }
    routes = []
    trigger_limits: dict[str, RateLimit] = {}
    for trigger in state.triggers:
        rate_limit = trigger.spec.get("rate_limit")
        if isinstance(rate_limit, Mapping):
            trigger_limits[trigger.id] = RateLimit.from_dict(rate_limit)
        kind = trigger_kinds.kind(trigger.kind)
        if kind.route is None:
            continue
        route = kind.route(kind.parse(trigger.spec))
        routes.append(
            HttpRoute(
                path=route.path,
                methods=route.methods,
                host=route.host,
                target=trigger_target(trigger.function, trigger.spec),
                trigger_id=trigger.id,
            )
        )
    return Snapshot(
        routes=RouteTable(routes),
        aliases=aliases,
        revisions=revisions,
        latest=latest,
        revision_limits=revision_limits,
        trigger_limits=trigger_limits,
    )


def _optional_str(value: object) -> str | None:
    return str(value) if value else None


def trigger_target(function: str, spec: Mapping[str, object]) -> Target:
    """Whom a stored trigger (of any kind) delivers to."""
    revision = spec.get("revision")
    if isinstance(revision, int):
        return Target(function=function, revision=revision)
    return Target(
        function=function,
        alias=str(spec.get("alias") or DEFAULT_ALIAS),
        tag=_optional_str(spec.get("tag")),
    )
