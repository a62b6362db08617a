"""A Starlette app served whole (`interface: asgi`), as it would be moved over."""

import asyncio
import base64
import contextlib
import os

from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@contextlib.asynccontextmanager
async def lifespan(app):
    yield {"started": "by lifespan"}


async def echo(request):
    body = await request.body()
    response = JSONResponse(
        {
            "method": request.method,
            "url": str(request.url),
            "path": request.url.path,
            "raw_path": request.scope["raw_path"].decode("latin-1"),
            "root_path": request.scope["root_path"],
            "rest": request.path_params["rest"],
            "query": request.query_params.multi_items(),
            "headers": [[n.decode("latin-1"), v.decode("latin-1")] for n, v in request.headers.raw],
            "cookies": request.cookies,
            "body": base64.b64encode(body).decode(),
            "started": request.state.started,
        },
        status_code=int(request.query_params.get("status", "200")),
    )
    response.set_cookie("a", "1")
    response.set_cookie("b", "2", path="/star")
    response.headers.append("x-out", "one")
    response.headers.append("x-out", "two")
    return response


async def stream(request):
    async def chunks():
        for n in range(5):
            yield f"chunk {n}\n".encode()

    return StreamingResponse(chunks(), media_type="text/plain", headers={"x-streamed": "yes"})


async def upload(request):
    return Response(await request.body(), media_type="application/octet-stream")


async def empty(request):
    return Response(status_code=204, headers={"x-deleted": "yes"})


async def big(request):
    size = int(request.query_params["n"])
    return Response(bytes(range(256)) * (size // 256), media_type="application/octet-stream")


async def slow(request):
    await asyncio.sleep(int(request.query_params["sleep_ms"]) / 1000)
    return Response("late")


async def crash(request):
    os._exit(3)


RELEASED = asyncio.Event()


async def held(request):
    """A first piece, then the rest only once another request has said so."""

    async def pieces():
        yield b"first\n"
        await asyncio.wait_for(RELEASED.wait(), 5)
        RELEASED.clear()
        yield b"second\n"

    return StreamingResponse(pieces(), media_type="text/plain")


async def release(request):
    RELEASED.set()
    return Response("released")


async def raising(request):
    raise RuntimeError("the app failed")


async def context(request):
    """What gaia says about the request it passed (scope["gaia.context"])."""
    said = request.scope["gaia.context"]
    fields = ("function", "revision", "alias", "request_id", "trigger")
    return JSONResponse(
        {
            **{name: getattr(said, name) for name in fields},
            "remaining_ms": said.remaining_ms(),
            "headers": [n.decode("latin-1") for n, _ in request.headers.raw],
        }
    )


app = Starlette(
    routes=[
        Route("/star/slow", slow),
        Route("/star/crash", crash),
        Route("/star/raise", raising),
        Route("/star/held", held),
        Route("/star/release", release),
        Route("/star/context", context),
        Route("/star/stream", stream),
        Route("/star/upload", upload, methods=["POST"]),
        Route("/star/big", big),
        Route("/star/empty", empty, methods=["DELETE"]),
        Route("/star/{rest:path}", echo, methods=METHODS),
    ],
    lifespan=lifespan,
)
