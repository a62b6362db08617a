"""The admin API's ASGI app: every endpoint of the table behind the bearer token, with the
error answers every route shares.

The endpoint table (gateway/admin/endpoints.py) both registers the routes and describes them
in /openapi.json. Each path is one route that dispatches on the method itself, so OPTIONS and
405 answers can list every method the path takes, not only those of its first route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import cast

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from gateway.admin.auth import BearerAuth
from gateway.admin.endpoints import ENDPOINTS
from gateway.admin.failures import error_body, internal_error_body
from gateway.admin.openapi import openapi_document
from gateway.admin.request_ids import RequestIds, request_id_of
from gateway.admin.routes import AdminRoutes
from gateway.errors import GaiaError
from gateway.ui import assets
from routing.routes import HTTP_METHODS

Handler = Callable[[Request], Awaitable[Response]]


def allow_header(methods: list[str]) -> str:
    """Every method a path takes: HEAD wherever GET is, and OPTIONS everywhere."""
    allowed = set(methods) | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    return ", ".join(sorted(allowed))


def _dispatch(handlers: dict[str, Handler]) -> Handler:
    allow = allow_header(list(handlers))
    if "GET" in handlers:
        handlers = {**handlers, "HEAD": handlers["GET"]}

    async def endpoint(request: Request) -> Response:
        handler = handlers.get(request.method)
        if handler is not None:
            return await handler(request)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": allow})
        raise HTTPException(405, "method not allowed", headers={"Allow": allow})

    return endpoint


def _handler(routes: AdminRoutes, name: str) -> Handler:
    """`status`, or `migrate.status` for a method of a group of routes."""
    found: object = routes
    for part in name.split("."):
        found = getattr(found, part)
    return cast(Handler, found)


def _error(
    request: Request,
    status: int,
    body: dict[str, object],
    headers: Mapping[str, str] | None = None,
) -> Response:
    body["request_id"] = request_id_of(request.scope)
    return JSONResponse(body, status_code=status, headers=headers)


def build_admin_app(routes: AdminRoutes, *, token: str) -> ASGIApp:
    document = openapi_document()

    async def openapi(request: Request) -> Response:
        return JSONResponse(document)

    async def gaia_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, GaiaError)
        return JSONResponse(error_body(exc, request_id_of(request.scope)), status_code=exc.status)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = f"{request.method} {request.url.path}: {exc.detail}"
        body: dict[str, object] = {"error": kind, "message": message}
        return _error(request, exc.status_code, body, headers=exc.headers)

    async def unexpected(request: Request, exc: Exception) -> Response:
        # Starlette re-raises it after this answer, so the server logs the traceback.
        return JSONResponse(internal_error_body(exc, request_id_of(request.scope)), status_code=500)

    by_path: dict[str, dict[str, Handler]] = {"/openapi.json": {"GET": openapi}}
    by_path |= {path: {"GET": handler} for path, handler in assets.routes().items()}
    for e in ENDPOINTS:
        by_path.setdefault(e.path, {})[e.method] = _handler(routes, e.handler)
    app = Starlette(
        # Every method reaches the dispatcher, which answers OPTIONS and 405 itself.
        routes=[
            Route(path, _dispatch(handlers), methods=HTTP_METHODS)
            for path, handlers in by_path.items()
        ],
        exception_handlers={
            GaiaError: gaia_error,
            HTTPException: http_error,
            Exception: unexpected,
        },
    )
    return RequestIds(BearerAuth(app, token=token))
