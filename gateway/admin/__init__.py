"""The admin API: a Starlette app on its own listener, behind a bearer token.

One table (`_ENDPOINTS`) both registers the routes and describes them in /openapi.json,
so the description cannot drift from what is served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.admin.auth import BearerAuth, ensure_token
from gateway.admin.routes import AdminRoutes, error_response
from gateway.admin.schemas import AliasBody, ApplyBody, PublishBody
from gateway.errors import GaiaError

__all__ = ["AdminRoutes", "build_admin_app", "ensure_token"]


@dataclass(frozen=True, kw_only=True)
class _Endpoint:
    path: str
    method: str
    handler: str
    summary: str
    body: type[BaseModel] | None = None
    raw_body: bool = False


_ENDPOINTS = (
    _Endpoint(path="/healthz", method="GET", handler="health", summary="Liveness probe"),
    _Endpoint(path="/metrics", method="GET", handler="metrics", summary="Prometheus metrics"),
    _Endpoint(path="/v1/status", method="GET", handler="status", summary="Gateway status"),
    _Endpoint(path="/v1/functions", method="GET", handler="list_functions", summary="Functions"),
    _Endpoint(
        path="/v1/functions/{fn}", method="GET", handler="get_function", summary="One function"
    ),
    _Endpoint(
        path="/v1/functions/{fn}/revisions",
        method="GET",
        handler="list_revisions",
        summary="A function's revisions",
    ),
    _Endpoint(
        path="/v1/functions/{fn}/revisions",
        method="POST",
        handler="publish",
        summary="Publish a revision (creates the function if needed; same digest: no change)",
        body=PublishBody,
    ),
    _Endpoint(
        path="/v1/functions/{fn}/aliases",
        method="GET",
        handler="list_aliases",
        summary="A function's aliases",
    ),
    _Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}",
        method="GET",
        handler="get_alias",
        summary="One alias",
    ),
    _Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}",
        method="PUT",
        handler="put_alias",
        summary="Set an alias's traffic (warms the revisions first)",
        body=AliasBody,
    ),
    _Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}/history",
        method="GET",
        handler="alias_history",
        summary="Every traffic change of an alias: when, from, to, by which command",
    ),
    _Endpoint(
        path="/v1/functions/{fn}/aliases/{alias}/rollback",
        method="POST",
        handler="rollback",
        summary="Restore the alias's traffic from before its last change",
    ),
    _Endpoint(
        path="/v1/functions/{fn}/invoke",
        method="POST",
        handler="invoke",
        summary="Invoke a function (query: alias, revision or tag); the body is passed as is",
        raw_body=True,
    ),
    _Endpoint(
        path="/v1/triggers",
        method="GET",
        handler="list_triggers",
        summary="Triggers, with the live state of queue triggers (partitions, lag, counts)",
    ),
    _Endpoint(
        path="/v1/triggers/{trigger:path}/history",
        method="GET",
        handler="trigger_history",
        summary="The runs of a trigger whose kind keeps them, newest first (?limit=, default 50)",
    ),
    _Endpoint(
        path="/v1/triggers/{trigger:path}",
        method="GET",
        handler="get_trigger",
        summary="One trigger by id, FUNCTION/KIND/N",
    ),
    _Endpoint(
        path="/v1/apply",
        method="POST",
        handler="apply",
        summary="Apply a gaia.yaml document, all or nothing",
        body=ApplyBody,
    ),
)


# `{fn}`, or `{trigger:path}` where Starlette needs a converter OpenAPI does not know.
_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")


def openapi_document() -> dict[str, object]:
    paths: dict[str, dict[str, object]] = {}
    schemas: dict[str, object] = {}
    for endpoint in _ENDPOINTS:
        operation: dict[str, object] = {
            "summary": endpoint.summary,
            "operationId": endpoint.handler,
            "responses": {
                "200": {"description": "OK"},
                "401": {"description": "missing or wrong bearer token"},
                "404": {"description": "no such function, alias or revision"},
                "422": {"description": "invalid input; the body names the field"},
            },
        }
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in _PARAMETER.findall(endpoint.path)
        ]
        if parameters:
            operation["parameters"] = parameters
        if endpoint.body is not None:
            schema = endpoint.body.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(schema.pop("$defs", {}))
            schemas[endpoint.body.__name__] = schema
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{endpoint.body.__name__}"}
                    }
                },
            }
        elif endpoint.raw_body:
            operation["requestBody"] = {
                "content": {"application/octet-stream": {"schema": {"type": "string"}}}
            }
        paths.setdefault(_PARAMETER.sub(r"{\1}", endpoint.path), {})[endpoint.method.lower()] = (
            operation
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "gaia admin API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def build_admin_app(routes: AdminRoutes, *, token: str) -> BearerAuth:
    document = openapi_document()

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    async def gaia_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GaiaError)
        return error_response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = {404: "NotFound", 405: "MethodNotAllowed"}.get(exc.status_code, "HTTPError")
        message = f"{request.method} {request.url.path}: {exc.detail}"
        return JSONResponse(
            {"error": kind, "message": message}, status_code=exc.status_code, headers=exc.headers
        )

    app = Starlette(
        routes=[Route("/openapi.json", openapi, methods=["GET"])]
        + [Route(e.path, getattr(routes, e.handler), methods=[e.method]) for e in _ENDPOINTS],
        exception_handlers={GaiaError: gaia_error, HTTPException: http_error},
    )
    return BearerAuth(app, token=token)
