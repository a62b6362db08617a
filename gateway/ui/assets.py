"""The dashboard's static files, served from the package at /ui without the token: they
hold no data, and the page asks for the token before it reads any.

Loaded once at startup into memory (a few tens of KiB). The Content-Security-Policy
lets the page load nothing but these files and talk to nothing but this listener.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

PATH = "/ui"

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_HEADERS = {
    "content-security-policy": "default-src 'self'; img-src 'self' data:;"
    " frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    # Served from memory: revalidating costs little, and a new gateway's files show at once.
    "cache-control": "no-cache",
}


def is_open(path: str) -> bool:
    """Whether a request path is one of the dashboard's files (readable without a token)."""
    return path == PATH or path.startswith(PATH + "/")


@dataclass(frozen=True, kw_only=True)
class Asset:
    body: bytes
    media_type: str


def load() -> dict[str, Asset]:
    root = importlib.resources.files(__package__).joinpath("static")
    assets = {}
    for entry in root.iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1]
        if entry.is_file() and suffix in _TYPES:
            assets[entry.name] = Asset(body=entry.read_bytes(), media_type=_TYPES[suffix])
    return assets


Handler = Callable[[Request], Awaitable[Response]]


def routes() -> dict[str, Handler]:
    """Path -> GET handler: /ui redirects to /ui/ (so the page's relative imports resolve
    under it), /ui/ is the page, /ui/NAME one of its files."""
    assets = load()

    async def redirect(request: Request) -> Response:
        return RedirectResponse(PATH + "/", status_code=308)

    async def serve(request: Request) -> Response:
        name = request.path_params.get("name") or "index.html"
        asset = assets.get(name)
        if asset is None:
            raise HTTPException(404, f"no such dashboard file (files: {', '.join(sorted(assets))})")
        return Response(asset.body, media_type=asset.media_type, headers=_HEADERS)

    return {PATH: redirect, PATH + "/": serve, PATH + "/{name}": serve}
