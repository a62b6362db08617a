"""The migration ledger's admin endpoints: status, discovered routes, add, set, history.

The evidence comes from the control plane's Observations (the router's, once it runs);
every change goes through the control plane, which judges and records it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gateway.admin.bodies import parse_json, validated
from gateway.admin.migrate_schemas import MAX_PATH_LENGTH, RouteAddBody, RouteSetBody
from gateway.admin.migrate_views import discovered_view, ledger_change_view, ledger_route_view
from gateway.control import ControlPlane
from gateway.errors import InvalidInput
from legacy.config import GatesConfig
from legacy.ledger import LedgerEntry

# Who history records when the client does not say: only the token's holder is known.
UNSTATED_ACTOR = "admin token"


class MigrateRoutes:
    def __init__(self, *, control: ControlPlane) -> None:
        self._control = control

    def _route(self, entry: LedgerEntry) -> dict[str, object]:
        legacy = self._control.legacy
        gates = legacy.gates if legacy is not None else GatesConfig()
        evidence = self._control.observations.evidence(entry.path)
        return ledger_route_view(entry, evidence, gates)

    def status_view(self) -> dict[str, object]:
        """The ledger's routes and the share of the old API's traffic functions answer."""
        requests, by_functions = self._control.observations.totals()
        return {
            "requests": requests,
            "served_by_functions": by_functions,
            "taken_over": by_functions / requests if requests else None,
            "routes": [self._route(e) for e in self._control.state.ledger],
        }

    async def status(self, request: Request) -> Response:
        return JSONResponse(self.status_view())

    async def discovered(self, request: Request) -> Response:
        ledger = {e.path for e in self._control.state.ledger}
        routes = sorted(
            self._control.observations.discovered(), key=lambda r: (-r.share, r.pattern)
        )
        return JSONResponse([discovered_view(r, in_ledger=r.pattern in ledger) for r in routes])

    async def add(self, request: Request) -> Response:
        body = validated(RouteAddBody, parse_json(await request.body()))
        entry = await self._control.add_route(
            body.path,
            function=body.function,
            methods=tuple(body.methods) if body.methods else None,
            by=body.by or UNSTATED_ACTOR,
        )
        return JSONResponse(self._route(entry), status_code=201)

    async def set(self, request: Request) -> Response:
        body = validated(RouteSetBody, parse_json(await request.body()))
        entry = await self._control.set_route(
            body.path,
            state=body.state,
            percent=body.percent,
            force=body.force,
            by=body.by or UNSTATED_ACTOR,
        )
        return JSONResponse(self._route(entry))

    async def history(self, request: Request) -> Response:
        path = request.query_params.get("path")
        if not path or not path.startswith("/") or len(path) > MAX_PATH_LENGTH:
            raise InvalidInput(
                f"path: expected a route's path pattern, like /items/{{id}}, got {path!r}",
                field="path",
            )
        changes = self._control.ledger_history(path)
        return JSONResponse([ledger_change_view(change) for change in changes])
