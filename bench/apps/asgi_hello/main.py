"""The ASGI benchmark's app (bench/asgi_app.py): one Starlette route, `GET /hello`
answering `hello` as text/plain, served both by bare uvicorn and as an `interface:
asgi` function."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(request: Request) -> PlainTextResponse:
    return PlainTextResponse("hello")


app = Starlette(routes=[Route("/hello", hello)])
