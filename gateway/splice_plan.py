"""What the data plane decides once per config snapshot, not per request, for the HTTP
trigger requests it splices to a leased instance (gateway/dataplane.py).

A snapshot never changes (a new config makes a new one), so whatever follows from it
alone is worked out on a request line's first request and kept until the next
snapshot: the route a (method, path, host) takes, the revision its target always
resolves to when that does not depend on the request (a pinned revision or tag, an
alias with one revision), the runtime that lends that revision's slots, the access
line's fields, whether any limit applies. A request then costs one dict lookup where it
cost a route lookup, an alias resolution, two revision lookups and a limits plan.
What does depend on the request (a weighted or sticky pick, an X-Gaia-Tag, a free slot,
a limit's tokens) is still decided per request.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.control import ControlPlane
from gateway.errors import NotFound
from gateway.invoker import Invoker, Resolved
from gateway.snapshot import Snapshot
from routing.errors import UnknownTag
from routing.names import DEFAULT_ALIAS
from routing.routes import LOOKUPS_REMEMBERED, HttpRoute
from runtime_adapters.base import RevisionKey, Runtime
from runtime_adapters.lease import HttpLease
from runtime_adapters.pool_runtime import PoolRuntime


class Leg:
    """One revision a route's requests go to, with what passing one on needs."""

    __slots__ = ("key", "lend", "log_fields", "resolved", "runtime")

    def __init__(
        self, resolved: Resolved, runtime: Runtime, key: RevisionKey, log_fields: dict[str, object]
    ) -> None:
        self.resolved = resolved
        self.runtime = runtime
        self.key = key
        # Shared by the access lines of every request of the leg: never changed.
        self.log_fields = log_fields
        # A slot on the revision, or None: its pool's own `lease` once a pool runtime
        # has one (no pool lookup per request), else `relend`. A refusal asks `relend`.
        self.lend: Callable[[], HttpLease | None] = self.relend

    def relend(self) -> HttpLease | None:
        """A slot after `lend` refused one, the runtime asked again: its pool may have
        been warmed, retired or replaced since (a retired pool lends nothing). `lend`
        becomes the current pool's `lease`."""
        runtime = self.runtime
        if not isinstance(runtime, PoolRuntime):
            return runtime.lease(self.key)
        lessor = runtime.lessor(self.key)
        if lessor is None or lessor == self.lend:
            return None  # no pool yet, or the same pool refused: no slot free
        self.lend = lessor
        return lessor()


class RoutePlan:
    """One route under one snapshot: its fixed leg, if any, and its legs by revision."""

    __slots__ = ("_legs", "_plans", "fixed", "route")

    def __init__(self, plans: SplicePlans, route: HttpRoute) -> None:
        self.route = route
        self._plans = plans
        self._legs: dict[int, Leg | None] = {}
        # The leg of every request without an X-Gaia-Tag, when the target alone says
        # which revision that is; None: resolved per request.
        self.fixed: Leg | None = None
        target = route.target
        if target.revision is None and target.tag is None:
            alias = plans.snapshot.aliases.get((target.function, target.alias or DEFAULT_ALIAS))
            if alias is None or alias.untagged is None:
                return
        try:
            resolved = plans.invoker.resolve(target)
        except (UnknownTag, NotFound):
            return  # the invoked path answers it (404 or 503)
        self.fixed = self.leg(resolved)

    def leg(self, resolved: Resolved) -> Leg | None:
        """The leg for `resolved` (a revision of this route's target); None when the
        snapshot has no such revision."""
        revision = resolved.key.revision
        try:
            return self._legs[revision]
        except KeyError:
            pass
        plans = self._plans
        spec = plans.snapshot.revisions.get(resolved.key)
        leg = None
        if spec is not None:
            route = self.route
            leg = Leg(
                resolved,
                plans.control.runtime_for(spec),
                spec.key,
                {
                    "route": route.path,
                    "function": route.target.function,
                    "trigger": plans.trigger,
                    "revision": revision,
                    "alias": resolved.alias,
                },
            )
        self._legs[revision] = leg
        return leg


class SplicePlans:
    """The plans of one snapshot, by request line."""

    __slots__ = (
        "_routes",
        "by_host",
        "control",
        "guarded",
        "invoker",
        "lines",
        "snapshot",
        "traced",
        "trigger",
    )

    def __init__(
        self, control: ControlPlane, invoker: Invoker, snapshot: Snapshot, *, trigger: str
    ) -> None:
        self.control = control
        # The access line's `trigger`: the data plane's kind.
        self.trigger = trigger
        self.invoker = invoker
        self.snapshot = snapshot
        # Whether a request's Host header can change its route.
        self.by_host = snapshot.routes.by_host
        # Whether any limit applies: then each request asks the guard for a ticket.
        self.guarded = invoker.guard.plan(snapshot).active
        # Whether every request is traced (an exporter): its spans need the invoked path.
        self.traced = invoker.tracer.exporting
        self.lines: dict[tuple[str, str, str | None], RoutePlan | None] = {}
        self._routes: dict[int, RoutePlan] = {}

    def for_line(self, line: tuple[str, str, str | None]) -> RoutePlan | None:
        """The plan of the route a request line (method, path, and host when `by_host`)
        takes, None when no route takes it; remembered in `lines`, which the data plane
        reads first."""
        method, path, host = line
        found = self.snapshot.routes.lookup(method, path, host)
        plan = None
        if found is not None:
            route = found[0]
            # By identity: the snapshot holds its routes, so an id is never reused here.
            plan = self._routes.get(id(route))
            if plan is None:
                plan = self._routes[id(route)] = RoutePlan(self, route)
        if len(self.lines) >= LOOKUPS_REMEMBERED:
            self.lines.clear()
        self.lines[line] = plan
        return plan
