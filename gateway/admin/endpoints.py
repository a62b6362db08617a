"""The admin API's one table of endpoints: it registers the routes and describes them in
/openapi.json, so the description cannot drift from what is served."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from gateway.admin.migrate_schemas import (
    PATH_SCHEMA,
    DiscoveredView,
    LedgerChangeView,
    LedgerRouteView,
    MigrateStatusView,
    RouteAddBody,
    RouteSetBody,
)
from gateway.admin.schemas import (
    AliasBody,
    AliasChangeView,
    AliasView,
    ApplyBody,
    ApplyView,
    FunctionView,
    HealthView,
    PublishBody,
    PublishedView,
    ReadyView,
    RevisionView,
    StatusView,
    TriggerView,
)
from gateway.logs import LEVELS
from gateway.ui.endpoint import EVENT_STREAM
from gateway.ui.schemas import DashboardView
from gateway.wire import NDJSON
from routing.names import MAX_NAME_LENGTH, MAX_REVISION, NAME_SCHEMA_PATTERN

NAME_SCHEMA: dict[str, object] = {
    "type": "string",
    "pattern": NAME_SCHEMA_PATTERN,
    "maxLength": MAX_NAME_LENGTH,
}


@dataclass(frozen=True, kw_only=True)
class Query:
    name: str
    schema: dict[str, object]
    description: str
    required: bool = False


@dataclass(frozen=True, kw_only=True)
class Answer:
    """A documented response: a JSON model (a list of them with `many`), or other content."""

    status: str
    description: str
    model: type[BaseModel] | None = None
    many: bool = False
    media_type: str = "application/json"
    # For content that is not a model: its JSON Schema.
    schema: dict[str, object] | None = None


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    path: str
    method: str
    # An AdminRoutes method, or `group.method` for one of its groups (`migrate.status`).
    handler: str
    summary: str
    answers: tuple[Answer, ...]
    # The errors an operation can answer beside 401 (and 405, which every path answers).
    errors: tuple[str, ...] = ("404",)
    body: type[BaseModel] | None = None
    raw_body: bool = False
    query: tuple[Query, ...] = ()
    # Readable without a token: probes and the API's description.
    open: bool = False


# 503: the shared store cannot be reached, so nothing can change.
_CHANGE = ("404", "409", "422", "503")
_TRIGGER_PARAMETER = {"type": "string", "minLength": 1}

ENDPOINTS = (
    Endpoint(
        path="/healthz",
        method="GET",
        handler="health",
        summary="Liveness probe",
        answers=(Answer(status="200", description="the gateway is up", model=HealthView),),
        errors=(),
        open=True,
    ),
    Endpoint(
        path="/readyz",
        method="GET",
        handler="ready",
        summary="Readiness probe",
        answers=(
            Answer(
                status="200",
                description="serving, the pools behind every routed alias warm",
                model=ReadyView,
            ),
            Answer(
                status="503",
                description="starting, warming a routed revision, or draining after SIGTERM",
                model=ReadyView,
            ),
        ),
        errors=(),
        open=True,
    ),
    Endpoint(
        path="/metrics",
        method="GET",
        handler="metrics",
        summary="Prometheus metrics",
        answers=(
            Answer(
                status="200",
                description="Prometheus text exposition format",
                media_type="text/plain",
                schema={"type": "string"},
            ),
        ),
        errors=(),
    ),
    Endpoint(
        path="/v1/status",
        method="GET",
        handler="status",
        summary="Gateway status",
        answers=(Answer(status="200", description="functions and pools", model=StatusView),),
        errors=(),
    ),
    Endpoint(
        path="/v1/dashboard",
        method="GET",
        handler="dashboard.feed",
        summary="What the dashboard at /ui shows: functions, aliases with their history,"
        " pools, triggers, migration, and per-revision samples over the last 15 minutes",
        answers=(
            Answer(status="200", description="everything at once", model=DashboardView),
            Answer(
                status="200",
                description="asked for with Accept: text/event-stream, Server-Sent Events:"
                " `overview` (DashboardView without the samples) at once, on every change"
                " and with every sample; `series` (the samples) at once; `sample` (the"
                " newest sample of each revision) every sample_interval_s",
                media_type=EVENT_STREAM,
                schema={"type": "string"},
            ),
        ),
        errors=(),
    ),
    Endpoint(
        path="/v1/functions",
        method="GET",
        handler="list_functions",
        summary="Functions",
        answers=(Answer(status="200", description="functions", model=FunctionView, many=True),),
        errors=(),
    ),
    Endpoint(
        path="/v1/functions/{fn}",
        method="GET",
        handler="get_function",
        summary="One function",
        answers=(Answer(status="200", description="the function", model=FunctionView),),
    ),
    Endpoint(
        path="/v1/functions/{fn}",
        method="DELETE",
        handler="delete_function",
        summary="Delete a function with its revisions, aliases, history and triggers",
        answers=(Answer(status="200", description="the function as it was", model=FunctionView),),
        errors=("404", "409", "503"),
    ),
    Endpoint(
        path="/v1/functions/{fn}/revisions",
        method="GET",
        handler="list_revisions",
        summary="A function's revisions",
        answers=(Answer(status="200", description="oldest first", model=RevisionView, many=True),),
    ),
    Endpoint(
        path="/v1/functions/{fn}/revisions/{revision}/code",
        method="GET",
        handler="revision_code",
        summary="A revision's code as published, a gzip tarball (installed requirements left"
        " out: requirements.txt is in it)",
        answers=(
            Answer(
                status="200",
                description="the tarball",
                media_type="application/gzip",
                schema={"type": "string", "format": "binary"},
            ),
        ),
        errors=("404", "422"),
    ),
    Endpoint(
        path="/v1/functions/{fn}/revisions",
        method="POST",
        handler="publish",
        summary="Publish a revision (creates the function if needed; same digest: no change)",
        body=PublishBody,
        answers=(
            Answer(status="201", description="a new revision", model=PublishedView),
            Answer(status="200", description="same digest as a revision", model=PublishedView),
            Answer(
                status="200",
                description=(
                    "asked for with Accept: application/x-ndjson, a line per stage as it"
                    ' ends ({"stage", "ms"}), then the JSON answer or an error body'
                ),
                media_type=NDJSON,
                schema={"type": "string"},
            ),
        ),
        errors=_CHANGE,
    ),
    Endpoint(
        path="/v1/functions/{fn}/aliases",
        method="GET",
        handler="list_aliases",
        summary="A function's aliases",
        answers=(Answer(status="200", description="its aliases", model=AliasView, many=True),),
    ),
    Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}",
        method="GET",
        handler="get_alias",
        summary="One alias",
        answers=(Answer(status="200", description="the alias", model=AliasView),),
    ),
    Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}",
        method="PUT",
        handler="put_alias",
        summary="Set an alias's traffic (warms the revisions first); the rules of gaia.yaml",
        body=AliasBody,
        answers=(Answer(status="200", description="the alias as set", model=AliasView),),
        errors=_CHANGE,
    ),
    Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}",
        method="DELETE",
        handler="delete_alias",
        summary="Delete an alias and its history; not `default`, nor one a trigger targets",
        answers=(Answer(status="200", description="the alias as it was", model=AliasView),),
        errors=_CHANGE,
    ),
    Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}/history",
        method="GET",
        handler="alias_history",
        summary="Every traffic change of an alias: when, from, to, by which command",
        answers=(
            Answer(status="200", description="oldest first", model=AliasChangeView, many=True),
        ),
    ),
    Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}/rollback",
        method="POST",
        handler="rollback",
        summary="Restore the alias's traffic from before its last change",
        answers=(Answer(status="200", description="the alias as restored", model=AliasView),),
        errors=_CHANGE,
    ),
    Endpoint(
        path="/v1/functions/{fn}/invoke",
        method="POST",
        handler="invoke",
        summary="Invoke a function; the body is passed as is. Query: `revision` alone, or "
        "`alias` (default `default`) and/or `tag` (a revision of the alias's traffic)",
        raw_body=True,
        query=(
            Query(name="alias", schema=NAME_SCHEMA, description="an alias of the function"),
            Query(
                name="revision",
                schema={"type": "integer", "minimum": 1, "maximum": MAX_REVISION},
                description="one revision; not with alias or tag",
            ),
            Query(name="tag", schema=NAME_SCHEMA, description="a tag of the alias's traffic"),
        ),
        answers=(
            Answer(
                status="default",
                description="what the function answered (x-gaia-revision names the revision)",
                media_type="*/*",
                schema={},
            ),
        ),
        errors=("404", "422", "502", "503", "504"),
    ),
    Endpoint(
        path="/v1/functions/{fn}/logs",
        method="GET",
        handler="logs.read",
        summary="A function's recent log lines, oldest first; with follow, then each new one",
        query=(
            Query(
                name="revision",
                schema={"type": "integer", "minimum": 1, "maximum": MAX_REVISION},
                description="only this revision's lines",
            ),
            Query(
                name="since",
                schema={"type": "string", "pattern": r"^[0-9]+(\.[0-9]+)?(ms|s|m|h)?$"},
                description="only lines of this last while, a duration like 10m",
            ),
            Query(
                name="level",
                schema={"type": "string", "enum": list(LEVELS), "default": "debug"},
                description="only lines of this level or above",
            ),
            Query(
                name="follow",
                schema={"type": "boolean", "default": False},
                description="keep the answer open and send each new line as it comes",
            ),
        ),
        answers=(
            Answer(
                status="200",
                description="one JSON object per line: time, level, request_id, function,"
                " revision, trigger and what the line says",
                media_type=NDJSON,
                schema={"type": "string"},
            ),
        ),
        errors=("404", "422"),
    ),
    Endpoint(
        path="/v1/triggers",
        method="GET",
        handler="list_triggers",
        summary="Triggers, with the live state of queue triggers (partitions, lag, counts)",
        answers=(Answer(status="200", description="every trigger", model=TriggerView, many=True),),
        errors=(),
    ),
    Endpoint(
        path="/v1/triggers/{trigger:path}/history",
        method="GET",
        handler="trigger_history",
        summary="The runs of a trigger whose kind keeps them, newest first",
        query=(
            Query(
                name="limit",
                schema={"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
                description="at most this many runs",
            ),
        ),
        answers=(
            Answer(
                status="200",
                description="runs, newest first",
                schema={"type": "array", "items": {"type": "object"}},
            ),
        ),
        errors=("404", "422"),
    ),
    Endpoint(
        path="/v1/triggers/{trigger:path}",
        method="GET",
        handler="get_trigger",
        summary="One trigger by id, FUNCTION/KIND/N",
        answers=(Answer(status="200", description="the trigger", model=TriggerView),),
    ),
    Endpoint(
        path="/v1/apply",
        method="POST",
        handler="apply",
        summary="Apply a gaia.yaml document, all or nothing",
        body=ApplyBody,
        answers=(Answer(status="200", description="the plan, applied or not", model=ApplyView),),
        errors=_CHANGE,
    ),
    Endpoint(
        path="/v1/migrate",
        method="GET",
        handler="migrate.status",
        summary="The migration ledger: each route's state and evidence, and the share of the"
        " old API's traffic functions now answer",
        answers=(Answer(status="200", description="every ledger route", model=MigrateStatusView),),
        errors=(),
    ),
    Endpoint(
        path="/v1/migrate/discovered",
        method="GET",
        handler="migrate.discovered",
        summary="The old API's routes learned from proxied traffic, most traffic first",
        answers=(Answer(status="200", description="by share", model=DiscoveredView, many=True),),
        errors=(),
    ),
    Endpoint(
        path="/v1/migrate/routes",
        method="POST",
        handler="migrate.add",
        summary="Put an old route in the ledger, in state legacy",
        body=RouteAddBody,
        answers=(Answer(status="201", description="the route as added", model=LedgerRouteView),),
        errors=_CHANGE,
    ),
    Endpoint(
        path="/v1/migrate/routes/state",
        method="POST",
        handler="migrate.set",
        summary="Move a ledger route to a state; a promotion its gate refuses is a 409 naming"
        " the numbers, unless forced",
        body=RouteSetBody,
        answers=(Answer(status="200", description="the route as set", model=LedgerRouteView),),
        errors=_CHANGE,
    ),
    Endpoint(
        path="/v1/migrate/routes/history",
        method="GET",
        handler="migrate.history",
        summary="Every change of a ledger route, oldest first, with its evidence and actor",
        query=(
            Query(
                name="path",
                schema=PATH_SCHEMA,
                description="the route's path pattern, like /items/{id}",
                required=True,
            ),
        ),
        answers=(
            Answer(status="200", description="oldest first", model=LedgerChangeView, many=True),
        ),
        errors=("404", "422"),
    ),
)


@dataclass(frozen=True, kw_only=True)
class PathParameter:
    schema: dict[str, object]
    # What `gaia up` serves on an empty GAIA_HOME (examples/), so that generated requests
    # reach a real function, alias and trigger as well as missing ones.
    example: str | int


# By name: `{trigger:path}` is Starlette's converter for ids with slashes.
PATH_PARAMETERS = {
    "fn": PathParameter(schema=NAME_SCHEMA, example="hello"),
    "alias": PathParameter(schema=NAME_SCHEMA, example="default"),
    "revision": PathParameter(
        schema={"type": "integer", "minimum": 1, "maximum": MAX_REVISION}, example=1
    ),
    "trigger": PathParameter(schema=_TRIGGER_PARAMETER, example="hello/http/0"),
}
