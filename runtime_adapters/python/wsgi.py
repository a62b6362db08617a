"""A whole WSGI app as a function (`interface: wsgi`): each HTTP invocation is one call
of the app with a PEP 3333 environ, run on the worker's handler threads like a sync
handler.

The environ is what wsgiref's server builds for the same request, with `SCRIPT_NAME`
"" and `PATH_INFO` the whole path (decoded from the path as sent, as latin-1 text), so
a route pattern that is a prefix is not stripped (see asgi.py). Where wsgiref is
wrong or unsafe, this follows RFC 9110 and gunicorn instead: no `CONTENT_TYPE` or
`CONTENT_LENGTH` when the request has none (wsgiref says text/plain and ""; PEP 3333
allows either), repeated `Cookie` headers joined with "; " (one cookie string, RFC
6265; other repeated headers with "," as wsgiref does), and header names with "_"
dropped, so `X_User` cannot pose as `X-User` (gunicorn's default).

The request body is all there (`wsgi.input_terminated`); the body the app yields is
joined and answered once the app has finished (see asgi.py on what streams).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote_to_bytes

from runtime_adapters.python.events import Context
from runtime_adapters.python.protocol import Headers, HttpEvent

Response = tuple[int, Headers, bytes]
WsgiCallable = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
_HEADERS_OF_THEIR_OWN = ("CONTENT_LENGTH", "CONTENT_TYPE")


class WsgiApp:
    def __init__(self, app: WsgiCallable, *, threads: int) -> None:
        self._app = app
        self._multithread = threads > 1

    def __call__(self, event: object, context: Context) -> Response:
        if type(event) is not HttpEvent:
            raise TypeError("a WSGI app answers HTTP triggers only, not queue or cron events")
        response = _StartResponse()
        result = self._app(environ_of(event, context, multithread=self._multithread), response)
        try:
            for chunk in result:
                response.write(chunk)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return response.finish()


def environ_of(event: HttpEvent, context: Context | None, *, multithread: bool) -> dict[str, Any]:
    raw_path = event.raw_path or quote(event.path).encode("ascii")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": event.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": unquote_to_bytes(raw_path).decode("latin-1"),
        "QUERY_STRING": event.query_string.decode("latin-1"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(event.body),
        "wsgi.input_terminated": True,
        # Captured per invocation and logged under its request id, like print().
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": multithread,
        "wsgi.multiprocess": True,  # a pool may run several workers of the revision
        "wsgi.run_once": False,
        "gaia.context": context,
    }
    own: dict[str, str] = {}
    fields: dict[str, str] = {}
    for name, value in event.headers:
        key = name.decode("latin-1").upper()
        if "_" in key:
            continue
        key = key.replace("-", "_")
        text = value.decode("latin-1")
        if key in _HEADERS_OF_THEIR_OWN:
            own.setdefault(key, text)
            continue
        key = "HTTP_" + key
        if key in fields:
            fields[key] += ("; " if key == "HTTP_COOKIE" else ",") + text
        else:
            fields[key] = text
    if event.body and "CONTENT_LENGTH" not in own:
        # A chunked request: the gateway has read it whole, so its length is known.
        own["CONTENT_LENGTH"] = str(len(event.body))
    # In wsgiref's order (length, type, then the rest as they came): frameworks list a
    # request's headers in the environ's order.
    for key in _HEADERS_OF_THEIR_OWN:
        if key in own:
            environ[key] = own[key]
    environ.update(fields)
    environ["SERVER_NAME"], environ["SERVER_PORT"] = _server(environ.get("HTTP_HOST", ""))
    return environ


def _server(host: str) -> tuple[str, str]:
    name, colon, port = host.rpartition(":")
    if colon and port.isdigit() and not name.endswith(":"):  # not a bare IPv6 address
        return name, port
    return host or "localhost", "80"


class _StartResponse:
    """`start_response` and `write` (PEP 3333), collecting the response."""

    def __init__(self) -> None:
        self._status: str | None = None
        self._headers: list[tuple[str, str]] = []
        self._chunks: list[bytes] = []

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            if self._chunks:  # the headers count as sent: the error cannot change them
                raise exc_info[1].with_traceback(exc_info[2])
        elif self._status is not None:
            raise RuntimeError("start_response was called twice without exc_info")
        self._status, self._headers = status, list(headers)
        return self.write

    def write(self, data: bytes) -> None:
        if self._status is None:
            raise RuntimeError("the WSGI app sent body bytes before calling start_response")
        if not isinstance(data, bytes):
            raise TypeError(f"a WSGI app must yield bytes, got {type(data).__name__}")
        if data:
            self._chunks.append(data)

    def finish(self) -> Response:
        status = self._status
        if status is None:
            raise RuntimeError("the WSGI app returned without calling start_response")
        code = status[:3]
        if not (code.isdigit() and status[3:4] in ("", " ")):
            raise ValueError(f"a WSGI status must be like '200 OK', got {status!r}")
        # Lower-case names, as uvicorn writes them anyway (and the gateway looks for its own).
        headers = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in self._headers]
        body = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
        return int(code), headers, body
