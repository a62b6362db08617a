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
a limit's tokens) is still decided per request, by `PlanSplicer`, the data plane's
`Splicer` half (the `DataPlane` is one).

Compiled by setup.py with the types in splice_plan.pxd beside it (as the splice
machinery is): the plans and the splicer are C structs calling each other, and the
trigger's splice, at C level. The module runs as it is without them.
"""

from __future__ import annotations

from collections.abc import Callable
from time import time as _wall_clock
from typing import TYPE_CHECKING, Protocol

from gateway.accesslog import JsonLines
from gateway.control import ControlPlane
from gateway.errors import NotFound
from gateway.guard import Ticket
from gateway.http.splice import RequestHead, Splice, SpliceOutcome, Splicer
from gateway.invoker import Invoker, Resolved
from gateway.logs import LogTime, log_time
from gateway.snapshot import Snapshot
from routing.aliases import sticky_key_from
from routing.errors import UnknownTag
from routing.names import DEFAULT_ALIAS
from routing.routes import LOOKUPS_REMEMBERED, HttpRoute
from routing.traffic import Sticky
from runtime_adapters.base import RevisionKey, Runtime
from runtime_adapters.lease import HttpLease
from runtime_adapters.pool_runtime import PoolRuntime

if TYPE_CHECKING:
    from gateway.dataplane import Fallback


def access_record(fields: dict[str, object]) -> dict[str, object]:
    """The access line of a spliced request with these fields of where it went, the
    request's own fields still to fill in, in the order of every access line: a spliced
    request copies it and sets those (cheaper than a dict display, which grows a new
    dict field by field)."""
    return {
        "time": "",
        "level": "",
        "request_id": "",
        "method": "",
        "path": "",
        **fields,
        "status": 0,
        "duration_ms": 0.0,
    }


# The access line's clock, typed for a C-level call compiled (splice_plan.pxd).
_log_time: LogTime = log_time
_FALLBACK = access_record({"fallback": True})
_NO_FIELDS = access_record({})
# The data plane's JSON error: headers and body for an error code, message and request id.
ErrorAnswer = Callable[[str, str, str], tuple[list[tuple[bytes, bytes]], bytes]]


class SpliceTo(Protocol):
    """The trigger kind's splice of a request to the slot its revision lends (the HTTP
    trigger's, triggers/http/splice.py): the gateway names no kind."""

    def __call__(
        self, head: RequestHead, lease: HttpLease, resolved: Resolved, ticket: Ticket | None
    ) -> Splice: ...


class Leg:
    """One revision a route's requests go to, with what passing one on needs."""

    __slots__ = ("key", "lend", "log_fields", "resolved", "runtime")

    def __init__(
        self, resolved: Resolved, runtime: Runtime, key: RevisionKey, log_fields: dict[str, object]
    ) -> None:
        self.resolved = resolved
        self.runtime = runtime
        self.key = key
        # The access line of every request of the leg (`access_record`): never changed.
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
                access_record(
                    {
                        "route": route.path,
                        "function": route.target.function,
                        "trigger": plans.trigger,
                        "revision": revision,
                        "alias": resolved.alias,
                    }
                ),
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


class PlanSplicer(Splicer):
    """The data plane's `Splicer` (gateway/http/splice.py): a request an HTTP trigger takes
    is spliced to the slot its revision's runtime lends, by the snapshot's plans; one no
    trigger takes, to the fallback's splice. The `DataPlane` is one; its ASGI side shares
    the request ids (`_next_id`), the access log and the fallback."""

    __slots__ = (
        "_access_log",
        "_body_limit",
        "_control",
        "_counter",
        "_error_answer",
        "_fallback",
        "_id_prefix",
        "_invoker",
        "_plans",
        "_splice_to",
        "_trigger",
    )

    def __init__(
        self,
        control: ControlPlane,
        invoker: Invoker,
        access_log: JsonLines,
        body_limit: int,
        fallback: Fallback | None,
        *,
        trigger: str,
        splice_to: SpliceTo,
        error_answer: ErrorAnswer,
        id_prefix: str,
    ) -> None:
        # The access line's `trigger`, how a routed request is spliced, and the JSON error
        # the protocol answers a failed splice with: the kind's (the data plane's).
        self._trigger = trigger
        self._splice_to = splice_to
        self._error_answer = error_answer
        self._control = control
        self._invoker = invoker
        self._access_log = access_log
        self._body_limit = body_limit
        # gaia.yaml `legacy:`: unmatched requests go to the old API instead of a 404/405.
        self._fallback = fallback
        # Request ids: a per-process random prefix and a counter are unique and cheap.
        self._id_prefix = id_prefix
        self._counter = 0
        # What the splice decides once per config snapshot.
        self._plans: SplicePlans | None = None

    def _next_id(self) -> str:
        self._counter += 1
        return f"{self._id_prefix}{self._counter:08x}"

    def splice(self, head: RequestHead) -> Splice | None:
        plans = self._plans
        snapshot = self._control.snapshot
        if plans is None or plans.snapshot is not snapshot:
            plans = self._plans = SplicePlans(
                self._control, self._invoker, snapshot, trigger=self._trigger
            )
        host = None
        if plans.by_host:
            for name, value in head.headers:
                if name == b"host":
                    host = value.decode("latin-1")
        line = (head.method, head.path, host)
        try:
            plan = plans.lines[line]
        except KeyError:  # not seen under this snapshot yet
            plan = plans.for_line(line)
        if plan is not None:
            return self._splice_routed(head, plans, plan)
        fallback = self._fallback
        if fallback is None:
            return None
        self._identify(head)
        head.log_fields = _FALLBACK
        return fallback.splice(head)

    def _splice_routed(
        self, head: RequestHead, plans: SplicePlans, plan: RoutePlan
    ) -> Splice | None:
        if plans.traced:
            return None
        tag = None
        for name, value in head.headers:
            if name == b"x-gaia-tag":
                tag = value.decode("latin-1")
            elif name == b"traceparent":
                return None
        # A chunked body or one over the limit is read whole by the invoked path (413).
        if head.chunked or (head.content_length or 0) > self._body_limit:
            return None
        leg = plan.fixed
        if leg is None or tag is not None:
            leg = self._leg(head, plan, tag)
            if leg is None:
                return None
        lease = leg.lend()
        if lease is None:
            lease = leg.relend()
            if lease is None:
                return None
        resolved = leg.resolved
        ticket = None
        if plans.guarded:
            ticket = self._invoker.admit_now(resolved, trigger_id=plan.route.trigger_id)
            if ticket is None:
                lease.release(None)
                return None
        self._identify(head)
        head.log_fields = leg.log_fields
        return self._splice_to(head, lease, resolved, ticket)

    def _leg(self, head: RequestHead, plan: RoutePlan, tag: str | None) -> Leg | None:
        """The leg of a request whose revision is picked per request (a weighted or
        sticky alias, an X-Gaia-Tag); None when it takes the invoked path."""

        def key_for(sticky: Sticky) -> str | None:
            return sticky_key_from(sticky, head.headers, head.query_string)

        try:
            resolved = self._invoker.resolve(plan.route.target, tag=tag, sticky_key=key_for)
        except (UnknownTag, NotFound):
            return None
        return plan.leg(resolved)

    def _identify(self, head: RequestHead) -> None:
        head.request_id = self._next_id()
        head.at = _wall_clock()

    def spliced(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        # The same line as the request's through the ASGI path, its fields in the same
        # order: the splice's `access_record`, copied.
        status = outcome.status
        fields = head.log_fields
        if fields is None:
            fields = _NO_FIELDS
        record = fields.copy()
        record["time"] = _log_time.text(head.at)
        record["level"] = "error" if status >= 500 else "info"
        record["request_id"] = head.request_id
        record["method"] = head.method
        record["path"] = head.path
        record["status"] = status
        record["duration_ms"] = outcome.duration_s * 1000
        self._access_log.write(record)

    def error_answer(
        self, error: str, message: str, request_id: str
    ) -> tuple[list[tuple[bytes, bytes]], bytes]:
        return self._error_answer(error, message, request_id)
