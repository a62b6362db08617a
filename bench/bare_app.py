"""The baseline of bench/hot_path.py: the hello example on a bare Starlette app.

It imports `examples/hello/main.py`'s `handler` and calls it in-process from an
`async def` endpoint, with the smallest event/context shim the handler needs. The
benchmark serves it as a user would serve a plain Starlette app, from the repository root:

    python -m uvicorn bench.bare_app:app --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

HELLO_MAIN = Path(__file__).resolve().parent.parent / "examples" / "hello" / "main.py"

Handler = Callable[[Any, Any], Any]


def load_handler(path: Path) -> Handler:
    """`handler` of the module at `path`, imported without putting its dir on sys.path."""
    spec = importlib.util.spec_from_file_location("hello_main", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.handler
    return handler


@dataclass(frozen=True, slots=True)
class Event:
    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    headers: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Context:
    function: str = "hello"
    revision: int = 0
    alias: str = "bare"
    request_id: str = ""
    trigger: str = "http"


HANDLER = load_handler(HELLO_MAIN)
CONTEXT = Context()


async def hello(request: Request) -> JSONResponse:
    event = Event(
        method=request.method,
        path=request.scope["path"],
        params=request.path_params,
        query=request.query_params,
        headers=request.headers,
    )
    return JSONResponse(HANDLER(event, CONTEXT))


app = Starlette(routes=[Route("/hello/{name}", hello, methods=["GET", "POST"])])
