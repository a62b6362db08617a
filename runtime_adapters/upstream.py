"""How servers gaia reaches over HTTP are invoked (container instances on $PORT, url
endpoints): gaia's pooled keep-alive HTTP/1.1 client (httpkit/client.py, chosen by
measurement). The one module that names the client, so it moves with it."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import msgspec

from httpkit.client import ClientError, HttpClient, Origin
from httpkit.headers import end_to_end
from runtime_adapters.base import HttpRequest, Invocation, InvocationResult
from runtime_adapters.deadlines import Deadlines
from runtime_adapters.upstream_headers import sent_headers

# The server's framing and date are for its hop; the gateway's server writes its own.
_RESPONSE_DROP = frozenset({b"content-length", b"date"})
# An answer larger than this is refused rather than held in memory.
MAX_BODY_BYTES = 64 * 1024 * 1024
# What a configured path (a health check's) may hold as it is (RFC 3986's path and query
# characters, and escapes already made); anything else (non-ASCII) is escaped.
_URL_CHARS = "/?:@!$&'()*+,;=%~"
_CLOUDEVENT = [(b"content-type", b"application/cloudevents+json")]


class ConnectionFailed(Exception):
    """No usable answer: no connection, or it closed (or overflowed) before the end.
    `unsent`: no connection was made, so the server never saw the request."""

    def __init__(self, message: str, *, unsent: bool = False) -> None:
        super().__init__(message)
        self.unsent = unsent


class TimedOut(Exception):
    pass


def path_target(path: str) -> bytes:
    """A path from the configuration (`/healthz`) as it goes on the request line."""
    return quote(path, safe=_URL_CHARS).encode("ascii")


def request_of(invocation: Invocation) -> tuple[str, bytes, list[tuple[bytes, bytes]], bytes]:
    """An HTTP event as the request it was, its path as the client sent it (escapes
    kept: `%2F` is not `/`); any other event as a CloudEvents 1.0 structured-mode POST
    to /. A traced invocation's `traceparent` header is the span the server runs
    under, as a tracing proxy passes it on."""
    event = invocation.event
    if isinstance(event, HttpRequest):
        # No raw path when no client sent one (the admin API's invoke): escape the path.
        target = event.raw_path or quote(event.path).encode("ascii")
        if event.query_string:
            target += b"?" + event.query_string
        headers = event.headers
        if invocation.traceparent:
            headers = [(n, v) for n, v in headers if n.lower() != b"traceparent"]
            headers.append((b"traceparent", invocation.traceparent.encode()))
        return event.method, target, headers, event.body
    headers = _CLOUDEVENT
    if invocation.traceparent:
        headers = [*headers, (b"traceparent", invocation.traceparent.encode())]
    return "POST", b"/", headers, msgspec.json.encode(event)


class UpstreamClient:
    """Requests to one server, `http://host:port`, over pooled keep-alive connections;
    their timeouts on the pool's shared timer (deadlines.py)."""

    def __init__(self, *, host: str, port: int, timeout_s: float, deadlines: Deadlines) -> None:
        self.origin = Origin(host=host, port=port, tls=False)
        self._host = self.origin.authority
        # The whole exchange is bounded by each request's own timeout; these only keep
        # the client's own timers from firing first. A request the data plane passes on
        # itself (runtime_adapters/lease.py) has the read timeout only.
        self.http = HttpClient(connect_timeout_s=timeout_s, read_timeout_s=timeout_s)
        self._deadlines = deadlines

    async def invoke(self, invocation: Invocation, *, timeout_s: float) -> InvocationResult:
        """The invocation as its request (see `request_of`), and the answer as its result."""
        method, target, headers, body = request_of(invocation)
        return await self.request(method, target, headers, body, timeout_s=timeout_s)

    async def request(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        timeout_s: float,
    ) -> InvocationResult:
        """Send one request; `target` is the path and query as they go on the request
        line. The body comes back as sent; the client's Host is kept (a server may
        serve several)."""
        sent = sent_headers(headers, self._host)
        # What asyncio.timeout does, on the pool's shared timer (deadlines.py).
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        deadline = self._deadlines.call_later(timeout_s, task.cancel)
        try:
            response = await self.http.request(self.origin, method, target, sent, body)
            try:
                data = await response.read(MAX_BODY_BYTES)
            finally:
                response.release()
        except asyncio.CancelledError:
            if deadline.fired and task.uncancel() <= cancelling:
                raise TimedOut(f"no answer within {timeout_s:g}s") from None
            raise
        except ClientError as exc:
            if exc.timed_out:
                raise TimedOut(exc.message) from None
            raise ConnectionFailed(exc.message, unsent=exc.reason == "connect_failed") from None
        finally:
            deadline.cancel()
        if data is None:
            raise ConnectionFailed(f"an answer larger than {MAX_BODY_BYTES >> 20} MiB")
        return InvocationResult(
            status=response.status,
            headers=end_to_end(response.headers, also_drop=_RESPONSE_DROP),
            body=data,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
