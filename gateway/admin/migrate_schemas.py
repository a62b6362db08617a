"""The JSON shapes of the migration ledger's admin endpoints (`/v1/migrate...`).

A route is named by its path pattern, in a body field or the `path` query parameter,
never in the URL path: a pattern holds `/` and `{}`, and `/v1/migrate/routes//items/
{id}/history` could not say where the pattern ends.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from gateway.admin.schemas import _Body, _View
from legacy.config import STATES
from routing.names import NAME_PATTERN
from routing.routes import HTTP_METHODS

MAX_PATH_LENGTH = 2048
# A route pattern as an HTTP trigger takes it; the ledger checks it fully (422 naming `path`).
PATH_SCHEMA: dict[str, object] = {"type": "string", "pattern": "^/", "maxLength": MAX_PATH_LENGTH}
RoutePath = Annotated[str, Field(pattern="^/", max_length=MAX_PATH_LENGTH)]
FunctionTarget = Annotated[
    str, Field(pattern=f"^{NAME_PATTERN}(:{NAME_PATTERN})?$", max_length=127)
]
Method = Literal[HTTP_METHODS]  # type: ignore[valid-type]
StateName = Literal[STATES]  # type: ignore[valid-type]
Actor = Annotated[str, Field(min_length=1, max_length=200)]
ACTOR_DESCRIPTION = (
    "who makes the change, as history records it; the admin API has one token, so this is"
    " the client's word (the CLI sends user@host, or --by)"
)


class RouteAddBody(_Body):
    path: RoutePath = Field(description="the route's path pattern, like /items/{id}")
    function: FunctionTarget = Field(description="the function, or function:alias, to take it")
    methods: list[Method] | None = Field(
        default=None,
        min_length=1,
        description="default: the methods discovery saw on this pattern, else GET",
    )
    by: Actor | None = Field(default=None, description=ACTOR_DESCRIPTION)


class RouteSetBody(_Body):
    path: RoutePath = Field(description="a path pattern in the ledger")
    state: StateName
    percent: float | None = Field(
        default=None, ge=0, le=100, description="canary only: the share the function answers"
    )
    force: bool = Field(default=False, description="promote even when the gate refuses")
    by: Actor | None = Field(default=None, description=ACTOR_DESCRIPTION)


class SideView(_View):
    requests: int
    errors: int
    error_rate: float | None
    p50_ms: float | None
    p99_ms: float | None


class MismatchView(_View):
    request: str
    differences: list[str]
    at: float


class EvidenceView(_View):
    """What the route has shown since it entered its state (the router's figures)."""

    since: float
    requests: int
    served_by_function: int
    function_share: float | None = Field(description="served_by_function / requests")
    legacy: SideView
    function: SideView
    samples: int
    mismatches: int
    mismatch_rate: float | None
    shadow_dropped: int = Field(description="copies dropped: the shadow queue was full")
    shadow_skipped: int = Field(
        description="requests not copied: over shadow.rate, a body over shadow.capture,"
        " or an unsafe method on a route without shadow_unsafe"
    )
    noise_paths: list[str]
    example: MismatchView | None


class GateView(_View):
    """The next promotion, as its gate would judge it now."""

    state: StateName
    allowed: bool
    reasons: list[str]


class LedgerRouteView(_View):
    path: str
    methods: list[str]
    function: str | None
    state: StateName
    percent: float | None
    shadow_unsafe: bool
    since: float
    updated_at: float
    evidence: EvidenceView | None = Field(
        description="counts from 0 when the route enters its state; null only when the"
        " router has not taken the route yet"
    )
    next: GateView | None = Field(description="null for a retired route")


class MigrateStatusView(_View):
    requests: int = Field(description="requests that reached the legacy layer")
    served_by_functions: int
    taken_over: float | None = Field(
        description="the share of all old-API traffic functions now answer"
    )
    routes: list[LedgerRouteView]


class DiscoveredView(_View):
    pattern: str
    methods: dict[str, int]
    requests: int
    share: float
    error_rate: float
    p50_ms: float | None
    p99_ms: float | None
    in_ledger: bool


class RouteConfigView(_View):
    path: str
    methods: list[str]
    function: str | None = None
    state: StateName
    percent: float | None = None


class EvidenceAtView(_View):
    since: float
    samples: int
    mismatches: int
    mismatch_rate: float | None
    legacy_requests: int
    legacy_errors: int
    legacy_error_rate: float | None
    legacy_p50_ms: float | None
    function_requests: int
    function_errors: int
    function_error_rate: float | None
    function_p50_ms: float | None


class LedgerChangeView(_View):
    model_config = _View.model_config | {"populate_by_name": True}

    path: str
    at: float
    action: Literal["added", "changed", "removed"]
    changes: list[str] = Field(description="what changed, readable: 'state shadow → canary'")
    from_: RouteConfigView | None = Field(alias="from")
    to: RouteConfigView | None
    evidence: EvidenceAtView | None
    by: str
    channel: str = Field(description="the operation: apply, migrate set or migrate add")
    gate: str | None
    forced: bool
