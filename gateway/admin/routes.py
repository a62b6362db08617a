"""Admin API endpoints. Every invalid input is a 4xx JSON error naming the field."""

from __future__ import annotations

import asyncio
import base64
import binascii
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from configkit.words import listing
from gateway import bundles
from gateway.admin.bodies import parse_json, validated
from gateway.admin.logs import LogRoutes
from gateway.admin.migrate import UNSTATED_ACTOR, MigrateRoutes
from gateway.admin.request_ids import request_id_of
from gateway.admin.schemas import ApplyBody, PublishBody
from gateway.admin.stages import stage_stream, wants_stages
from gateway.admin.views import (
    alias_view,
    function_view,
    history_view,
    live_trigger_view,
    revision_view,
)
from gateway.cluster import StoreStatus
from gateway.config import (
    ConfigError,
    FunctionConfig,
    Trigger,
    parse_config_document,
    parse_function,
)
from gateway.control import ControlPlane, FunctionPlan, StageDone
from gateway.errors import InvalidInput, NotFound, runtime_error_code
from gateway.invoker import Invoker
from gateway.lifecycle import Lifecycle
from gateway.logs import FunctionLogs
from gateway.metrics import Metrics
from gateway.store import RevisionRecord, TriggerRecord
from gateway.subscriptions import Subscriptions
from gateway.ui.counters import CollectorCounters
from gateway.ui.dashboard import Dashboard
from gateway.ui.endpoint import DashboardRoutes
from routing.errors import InvalidSpec, UnknownTag
from routing.names import check_alias_name, invoke_target, parse_revision_text
from routing.routes import http_url
from routing.traffic import parse_alias_spec
from runtime_adapters import registry as runtimes
from runtime_adapters.base import HttpRequest, RuntimeAdapterError
from triggers import registry as trigger_kinds

Endpoint = Callable[[Request], Awaitable[Response]]


def config_error(exc: ConfigError) -> InvalidInput:
    issues = [{"field": issue.path, "message": issue.message} for issue in exc.errors]
    first = exc.errors[0] if exc.errors else None
    return InvalidInput(str(exc), field=first.path if first else None, errors=issues)


class AdminRoutes:
    def __init__(
        self,
        *,
        control: ControlPlane,
        invoker: Invoker,
        metrics: Metrics,
        subscriptions: Subscriptions,
        data_plane_url: str,
        started_at: float,
        logs: FunctionLogs | None = None,
        store_status: Callable[[], StoreStatus],
        dashboard: Dashboard | None = None,
        lifecycle: Lifecycle | None = None,
    ) -> None:
        self._control = control
        self._invoker = invoker
        self._metrics = metrics
        self._subscriptions = subscriptions
        self._data_plane_url = data_plane_url
        self._started_at = started_at
        self._store_status = store_status
        self._lifecycle = lifecycle or Lifecycle()
        self.migrate = MigrateRoutes(control=control)
        self.logs = LogRoutes(control=control, logs=logs if logs is not None else FunctionLogs())
        # The gateway passes the one it started; without, the page has no samples yet.
        self.dashboard = DashboardRoutes(
            dashboard
            or Dashboard(
                control=control, subscriptions=subscriptions, counters=CollectorCounters(metrics)
            )
        )

    # -- helpers ---------------------------------------------------------------------

    def _ok(self, data: object, status: int = 200) -> JSONResponse:
        return JSONResponse(data, status_code=status)

    # -- endpoints -------------------------------------------------------------------

    async def health(self, request: Request) -> Response:
        return self._ok({"status": "ok"})

    async def ready(self, request: Request) -> Response:
        status, body = self._lifecycle.readiness()
        return self._ok(body, status)

    async def metrics(self, request: Request) -> Response:
        return Response(self._metrics.render(), media_type="text/plain; version=0.0.4")

    async def status(self, request: Request) -> Response:
        state, snapshot = self._control.state, self._control.snapshot
        pools = []
        for runtime in self._control.runtimes.values():
            for pool in runtime.status():
                pools.append(
                    {
                        "revision": str(pool.key),
                        "instances": pool.instances,
                        "ready": pool.ready,
                        "in_flight": pool.in_flight,
                        "queued": pool.queued,
                        "busy": pool.busy,
                        "starting": pool.starting,
                        "cold_starts": pool.cold_starts,
                        "endpoints": [asdict(endpoint) for endpoint in pool.endpoints],
                    }
                )
        return self._ok(
            {
                "uptime_s": round(time.time() - self._started_at, 3),
                "data_plane_url": self._data_plane_url,
                "store": self._store_status().to_dict(),
                "startup_file_sha256": state.startup_file,
                "functions": [function_view(f.name, state, snapshot) for f in state.functions],
                "pools": pools,
            }
        )

    async def list_functions(self, request: Request) -> Response:
        state, snapshot = self._control.state, self._control.snapshot
        return self._ok([function_view(f.name, state, snapshot) for f in state.functions])

    async def get_function(self, request: Request) -> Response:
        name = request.path_params["fn"]
        self._control.function(name)
        return self._ok(function_view(name, self._control.state, self._control.snapshot))

    async def delete_function(self, request: Request) -> Response:
        name = request.path_params["fn"]
        self._control.function(name)
        view = function_view(name, self._control.state, self._control.snapshot)
        await self._control.delete_function(name)
        return self._ok(view)

    async def list_revisions(self, request: Request) -> Response:
        name = request.path_params["fn"]
        snapshot = self._control.snapshot
        return self._ok([revision_view(r, snapshot) for r in self._control.revisions(name)])

    async def revision_code(self, request: Request) -> Response:
        name = request.path_params["fn"]
        try:
            number = parse_revision_text(request.path_params["revision"], path="revision")
        except InvalidSpec as exc:
            raise InvalidInput(exc.message, field="revision") from exc
        code = await asyncio.to_thread(self._control.revision_code, name, number)
        return Response(code, media_type="application/gzip")

    async def publish(self, request: Request) -> Response:
        """Publish; with `Accept: application/x-ndjson`, each stage as it ends first."""
        name = request.path_params["fn"]
        body = validated(PublishBody, parse_json(await request.body()))
        upload = tempfile.TemporaryDirectory(prefix="gaia-upload-")
        try:
            code_dir = Path(upload.name)
            bundles.unpack(_b64(body.code, field="code"), code_dir)
            config, added = self._publish_config(name, body, code_dir)
        except BaseException:
            upload.cleanup()
            raise

        async def run(on_stage: StageDone | None) -> dict[str, object]:
            try:
                plan = await self._control.publish(
                    name,
                    code_dir=config.code,  # None where the runtime runs no code
                    config=config,
                    dry_run=body.dry_run,
                    add_triggers=added,
                    on_stage=on_stage,
                )
            finally:
                upload.cleanup()
            return self._published(name, plan, config, dry_run=body.dry_run)

        if wants_stages(request):
            return stage_stream(run, request_id=request_id_of(request.scope))
        view = await run(None)
        return self._ok(view, 201 if view["created"] else 200)

    def _publish_config(
        self, name: str, body: PublishBody, code_dir: Path
    ) -> tuple[FunctionConfig, tuple[Trigger, ...]]:
        """The revision's settings (the latest one's, overridden by the request's) and the
        triggers to add, checked as gaia.yaml's are."""
        raw = dict(self._inherited_config(name)) | body.config
        runtime = runtimes.chosen(raw.get("runtime"))
        if runtime is None or runtime.needs_code:
            raw["code"] = str(code_dir)
        try:
            config = parse_function(
                name,
                raw,
                file="request",
                base_dir=code_dir,
                path_prefix="config",
                check_code=True,
            )
            # Checked as gaia.yaml's `triggers:` are; paths read `triggers[0].http.path`.
            added = parse_function(
                name,
                {"code": str(code_dir), "triggers": body.triggers},
                file="request",
                base_dir=code_dir,
            ).triggers
        except ConfigError as exc:
            raise config_error(exc) from exc
        return config, added

    def _published(
        self, name: str, plan: FunctionPlan, config: FunctionConfig, *, dry_run: bool
    ) -> dict[str, object]:
        stored = self._control.state.revisions
        revision = next(
            (r for r in stored if r.function == name and r.number == plan.revision),
            # A dry run's new revision, as it would be stored.
            RevisionRecord(
                function=name,
                number=plan.revision,
                digest=plan.digest,
                config=config.revision_config(),
                created_at=time.time(),
            ),
        )
        view = revision_view(revision, self._control.snapshot)
        view["created"] = plan.created_revision
        view["dry_run"] = dry_run
        view["triggers_added"] = list(plan.triggers_added)
        view["timings_ms"] = dict(plan.timings_ms)
        view["urls"] = self._urls(name, plan.revision)
        return view

    def _urls(self, function: str, revision: int) -> list[str]:
        """Data-plane URLs whose trigger can reach this revision."""
        snapshot = self._control.snapshot
        urls = []
        for route in snapshot.routes.routes:
            target = route.target
            if target.function != function:
                continue
            if target.revision is not None:
                reaches = target.revision == revision
            else:
                alias = snapshot.aliases.get((function, target.alias or "default"))
                reaches = alias is not None and (
                    any(n == revision and pct > 0 for n, pct in alias.revisions)
                    or (target.tag is not None and alias.tags.get(target.tag) == revision)
                )
            if reaches:
                urls.append(http_url(self._data_plane_url, path=route.path, host=route.host))
        return urls

    def _inherited_config(self, name: str) -> Mapping[str, object]:
        """A new revision keeps the latest one's settings unless the request overrides them."""
        try:
            revisions = self._control.revisions(name)
        except NotFound:
            return {}
        return revisions[-1].config if revisions else {}

    async def list_aliases(self, request: Request) -> Response:
        name = request.path_params["fn"]
        self._control.function(name)
        snapshot = self._control.snapshot
        return self._ok(
            [alias_view(a, snapshot) for a in self._control.state.aliases if a.function == name]
        )

    async def get_alias(self, request: Request) -> Response:
        record = self._control.alias(request.path_params["fn"], request.path_params["alias"])
        return self._ok(alias_view(record, self._control.snapshot))

    async def put_alias(self, request: Request) -> Response:
        name, alias = request.path_params["fn"], request.path_params["alias"]
        try:
            check_alias_name(alias, path="alias")
        except InvalidSpec as exc:
            raise InvalidInput(exc.message, field="alias") from exc
        # The rule gaia.yaml's aliases follow, with its messages; schemas.AliasBody describes it.
        data = parse_json(await request.body())
        if isinstance(data, dict) and "rollout" in data:
            raise InvalidInput("rollout is not available yet", field="rollout")
        try:
            spec = parse_alias_spec(data)
        except InvalidSpec as exc:
            raise InvalidInput(exc.message, field=exc.path or "body") from exc
        record = await self._control.set_alias(name, alias, spec)
        return self._ok(alias_view(record, self._control.snapshot))

    async def delete_alias(self, request: Request) -> Response:
        name, alias = request.path_params["fn"], request.path_params["alias"]
        view = alias_view(self._control.alias(name, alias), self._control.snapshot)
        await self._control.delete_alias(name, alias)
        return self._ok(view)

    async def alias_history(self, request: Request) -> Response:
        changes = self._control.history(request.path_params["fn"], request.path_params["alias"])
        return self._ok([history_view(change) for change in changes])

    async def rollback(self, request: Request) -> Response:
        record = await self._control.rollback(
            request.path_params["fn"], request.path_params["alias"]
        )
        return self._ok(alias_view(record, self._control.snapshot))

    async def list_triggers(self, request: Request) -> Response:
        return self._ok([self._trigger(t) for t in self._control.state.triggers])

    async def get_trigger(self, request: Request) -> Response:
        return self._ok(self._trigger(self._trigger_record(request.path_params["trigger"])))

    async def trigger_history(self, request: Request) -> Response:
        trigger_id = request.path_params["trigger"]
        record = self._trigger_record(trigger_id)
        limit = _limit(request.query_params.get("limit", "50"))
        runs = await self._subscriptions.history_of(record.id, limit=limit)
        if runs is None:
            keeping = [kind.name for kind in trigger_kinds.kinds() if kind.history]
            raise InvalidInput(
                f"trigger {trigger_id!r} is a {record.kind} trigger, which keeps no run"
                f" history: expected a {listing(keeping)} trigger",
                field="trigger",
            )
        return self._ok(runs)

    def _trigger_record(self, trigger_id: str) -> TriggerRecord:
        for record in self._control.state.triggers:
            if record.id == trigger_id:
                return record
        known = ", ".join(t.id for t in self._control.state.triggers) or "none"
        raise NotFound(
            f"trigger {trigger_id!r} does not exist (triggers: {known})", field="trigger"
        )

    def _trigger(self, record: TriggerRecord) -> dict[str, object]:
        return live_trigger_view(record, self._subscriptions)

    async def apply(self, request: Request) -> Response:
        body = validated(ApplyBody, parse_json(await request.body()))
        with tempfile.TemporaryDirectory(prefix="gaia-apply-") as tmp:
            document = _with_uploaded_code(body, Path(tmp))
            try:
                parsed = parse_config_document(
                    document, file=body.file, base_dir=Path(tmp), check_code=True
                )
            except ConfigError as exc:
                raise config_error(exc) from exc
            result = await self._control.apply_file(
                parsed, dry_run=body.dry_run, by=body.by or UNSTATED_ACTOR
            )
        return self._ok(
            {
                "dry_run": body.dry_run,
                "functions": [p.to_dict() for p in result.functions],
                "legacy": result.ledger.to_dict() if result.ledger else None,
            }
        )

    async def invoke(self, request: Request) -> Response:
        """Invoke a function as an HTTP POST to `/` would, whatever its triggers."""
        name, query = request.path_params["fn"], request.query_params
        try:
            target = invoke_target(
                name, alias=query.get("alias"), revision=query.get("revision"), tag=query.get("tag")
            )
        except InvalidSpec as exc:
            raise InvalidInput(exc.message, field=exc.path) from exc
        self._control.function(name)
        try:
            resolved = self._invoker.resolve(target, tag=target.tag)
        except UnknownTag as exc:
            raise InvalidInput(str(exc), field="tag") from exc
        request_id = request_id_of(request.scope)
        event = HttpRequest(
            method="POST",
            path="/",
            query_string=b"",
            headers=[
                (k.lower(), v) for k, v in request.headers.raw if k.lower() == b"content-type"
            ],
            params={},
            body=await request.body(),
        )
        headers = {"x-gaia-revision": str(resolved.key)}
        try:
            result = await self._invoker.invoke(
                resolved, request_id=request_id, trigger="admin", event=event
            )
        except RuntimeAdapterError as exc:
            return JSONResponse(
                {
                    "error": runtime_error_code(exc),
                    "message": exc.message,
                    "request_id": request_id,
                },
                status_code=exc.status,
                headers=headers,
            )
        response = Response(result.body, status_code=result.status, headers=headers)
        response.raw_headers.extend(
            (k, v) for k, v in result.headers if k.lower() != b"content-length"
        )
        return response


def _limit(text: str) -> int:
    if text.isdigit() and 1 <= int(text) <= 1000:
        return int(text)
    raise InvalidInput(
        f"limit: expected a whole number from 1 to 1000, got {text!r}", field="limit"
    )


def _b64(text: str, *, field: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput(f"{field} is not valid base64: {exc}", field=field) from exc


def _with_uploaded_code(body: ApplyBody, into: Path) -> dict[str, Any]:
    """The document with each function's `code` pointing at its unpacked upload."""
    document = dict(body.document)
    functions = document.get("functions")
    if not isinstance(functions, dict):
        return document
    patched: dict[str, Any] = {}
    for name, raw in functions.items():
        runtime = runtimes.chosen(raw.get("runtime")) if isinstance(raw, dict) else None
        if isinstance(raw, dict) and runtime is not None and runtime.needs_code:
            if name not in body.bundles:
                raise InvalidInput(
                    f"no code uploaded for function {name!r}: expected bundles.{name}",
                    field=f"functions.{name}.code",
                )
            target = into / "bundles" / str(name)
            target.mkdir(parents=True)
            bundles.unpack(_b64(body.bundles[name], field=f"bundles.{name}"), target)
            raw = {**raw, "code": str(target)}
        patched[str(name)] = raw
    document["functions"] = patched
    return document
