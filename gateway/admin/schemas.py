"""The JSON shapes of the admin API, as /openapi.json describes them.

Request bodies: PublishBody and ApplyBody are validated by these models (strict: `"yes"` is
no boolean); AliasBody only describes, because an alias's traffic is validated by
routing.traffic.parse_alias_spec, the rule gaia.yaml uses too, and its patterns and bounds
come from there. Responses: what gateway/admin/views.py builds, so that a client (and
schemathesis) can hold every answer to its schema.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.config import REVISION_KEYS
from gateway.errors import ADMIN_ERROR_CODES
from limits.spec import MAX_BURST, MAX_RPS
from routing.names import LATEST, MAX_NAME_LENGTH, MAX_REVISION, NAME_SCHEMA_PATTERN
from routing.traffic import STICKY_SCHEMA_PATTERN

# What configkit.leaves.redis_url takes, anchored for JSON Schema.
REDIS_URL_PATTERN = r"^rediss?://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}(/\d+)?$"
# Standard base64 as `base64.b64decode(validate=True)` takes it.
BASE64_PATTERN = r"^[A-Za-z0-9+/]*={0,2}$"

Name = Annotated[str, Field(pattern=NAME_SCHEMA_PATTERN, max_length=MAX_NAME_LENGTH)]
RevisionNumber = Annotated[int, Field(ge=1, le=MAX_REVISION)]
Revision = RevisionNumber | Literal["latest"]
Base64 = Annotated[str, Field(pattern=BASE64_PATTERN)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class TrafficEntryBody(_Body):
    revision: Revision = Field(description="a revision number, or 'latest'; each once per list")
    percent: float = Field(ge=0, le=100)
    tag: Name | None = Field(default=None, description="reachable with X-Gaia-Tag even at 0%")


class RateLimitBody(_Body):
    rps: float = Field(gt=0, le=MAX_RPS, description="tokens a second")
    burst: int | None = Field(
        default=None, ge=1, le=MAX_BURST, description="the bucket's size; default: rps rounded up"
    )
    redis: Annotated[str, Field(pattern=REDIS_URL_PATTERN)] | None = Field(
        default=None, description="redis://host:port[/db] the replicas share the bucket through"
    )


class AliasBody(_Body):
    traffic: list[TrafficEntryBody] = Field(
        default_factory=lambda: [TrafficEntryBody(revision=LATEST, percent=100)],
        min_length=1,
        description="percents must add up to 100",
    )
    sticky: Annotated[str, Field(pattern=STICKY_SCHEMA_PATTERN)] | None = Field(
        default=None, description="header:NAME, cookie:NAME or query:NAME, NAME an HTTP token"
    )
    fallback: RevisionNumber | None = Field(
        default=None,
        description="the revision of this function that answers while the picked one's"
        " circuit is open",
    )
    rate_limit: RateLimitBody | None = Field(
        default=None, description="a token bucket for the alias's requests (429 beyond it)"
    )


RevisionKey = Literal[REVISION_KEYS]  # type: ignore[valid-type]


class PublishBody(_Body):
    code: Base64 = Field(description="the code directory as a base64 gzip tarball")
    config: dict[RevisionKey, Any] = Field(
        default_factory=dict,
        description="revision settings (handler, interface, env, timeout, memory, concurrency,"
        " pool, network), as in gaia.yaml; keys left out keep the latest revision's values",
    )
    dry_run: bool = Field(
        default=False, description="check and plan the revision; store and warm nothing"
    )
    triggers: list[dict[str, Any]] = Field(
        default_factory=list,
        description="triggers to add beside the function's own, as gaia.yaml's items "
        '(`{"http": {"path": "/hi", "methods": ["GET"]}}`), targeting alias `default` unless '
        "they pin a revision; one the function has already is not added twice",
    )


class ApplyBody(_Body):
    file: str = Field(default="gaia.yaml", description="file name used in error messages")
    document: dict[str, Any] = Field(description="the gaia.yaml document as JSON")
    bundles: dict[Name, Base64] = Field(
        default_factory=dict,
        description="function name -> code directory as base64 gzip tarball",
        # A key that is no function name is refused, not merely left undescribed.
        json_schema_extra={"additionalProperties": False},
    )
    dry_run: bool = False
    by: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="who applies it, as the migration ledger's history records it",
    )


# -- responses ---------------------------------------------------------------------------


class _View(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Issue(_View):
    field: str
    message: str


ErrorCode = Literal[ADMIN_ERROR_CODES]  # type: ignore[valid-type]


class ErrorView(_View):
    """Every error the admin API answers (README: HTTP errors)."""

    error: ErrorCode = Field(description="what went wrong, snake_case as the data plane's")
    message: str
    request_id: str
    field: str | None = Field(default=None, description="the offending key")
    errors: list[Issue] | None = Field(default=None, description="every issue, when several")


class HealthView(_View):
    status: Literal["ok"]


class ReadyView(_View):
    status: Literal["ready", "starting", "warming", "draining"]
    message: str


class TrafficView(_View):
    revision: Revision
    resolved_revision: RevisionNumber | None
    percent: float
    tag: str | None


class RateLimitView(_View):
    rps: float
    burst: int | None = None
    redis: str | None = None


class AliasView(_View):
    function: str
    alias: str
    name: str
    traffic: list[TrafficView]
    sticky: str | None
    fallback: RevisionNumber | None = None
    rate_limit: RateLimitView | None = None
    ready: bool
    updated_at: float


class TrafficEntryView(_View):
    # Not TrafficEntryBody: a spec stored by an earlier release keeps the tag it had
    # then, which today's input pattern may refuse.
    revision: Revision
    percent: float
    tag: str | None = None


class SpecView(_View):
    """An alias's traffic as stored (history, apply plans)."""

    traffic: list[TrafficEntryView]
    sticky: str | None
    fallback: RevisionNumber | None = None
    rate_limit: RateLimitView | None = None


class AliasChangeView(_View):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    function: str
    alias: str
    at: float
    by: str
    from_: SpecView | None = Field(alias="from")
    to: SpecView


class TriggerView(BaseModel):
    """A trigger's id, function and kind, and its keys as gaia.yaml gave them."""

    model_config = ConfigDict(extra="allow")

    id: str
    function: str
    kind: str
    state: dict[str, Any] | None = Field(
        default=None, description="queue and cron triggers: the live state (null: not running)"
    )


class FunctionView(_View):
    name: str
    created_at: float
    latest: RevisionNumber | None
    revisions: int
    aliases: list[AliasView]
    triggers: list[TriggerView]


class RevisionView(_View):
    function: str
    revision: RevisionNumber
    name: str
    digest: str
    created_at: float
    config: dict[str, Any]
    latest: bool
    aliases: list[str]


class PublishedView(RevisionView):
    created: bool
    dry_run: bool
    triggers_added: list[str]
    timings_ms: dict[str, float]
    urls: list[str]


class EndpointView(_View):
    url: str
    state: str = Field(description="the runtime's word for it: healthy, ejected, down ...")
    in_flight: int = Field(description="requests sent to it and not answered yet")
    detail: str = Field(description="why it is in that state; empty when there is nothing to say")


class PoolView(_View):
    revision: str
    instances: int
    ready: int
    in_flight: int
    queued: int
    busy: int
    starting: int
    cold_starts: int
    endpoints: list[EndpointView] = Field(
        description="each endpoint, for runtimes that reach their revision at several"
    )


class StoreView(_View):
    kind: Literal["sqlite", "redis", "memory"]
    version: int = Field(ge=0, description="the stored config version this gateway serves")
    connected: bool = Field(description="false while the shared store cannot be reached")
    error: str | None = Field(description="why this gateway may not have the newest version")
    checked_at: float | None = Field(
        description="when this gateway last confirmed the newest version (shared store)"
    )


class StatusView(_View):
    uptime_s: float
    data_plane_url: str
    store: StoreView
    startup_file_sha256: str | None = Field(
        description="the digest of the file last applied at start-up (`gaia up -f`, with"
        " its functions' code): a replica starting with a file of this digest keeps the"
        " stored state; null when none was"
    )
    functions: list[FunctionView]
    pools: list[PoolView]


class AliasPlanView(_View):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: SpecView | None = Field(alias="from")
    to: SpecView


class FunctionPlanView(_View):
    function: str
    revision: RevisionNumber
    digest: str
    created_revision: bool
    created_function: bool
    aliases: dict[str, AliasPlanView]
    triggers_added: list[str]
    triggers_removed: list[str]
    timings_ms: dict[str, float]


class LedgerPlanView(_View):
    added: list[str]
    changed: list[str]
    removed: list[str]


class ApplyView(_View):
    dry_run: bool
    functions: list[FunctionPlanView]
    legacy: LedgerPlanView | None = Field(
        description="the ledger routes the file's legacy: section changes; null without one"
    )
