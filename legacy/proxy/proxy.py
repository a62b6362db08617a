"""`legacy.ports.Proxy` over the pooled client: requests to the old API, answers streamed back.

Nothing is held whole: the request body goes out as the client sends it (by its length,
or chunked) and the answer comes back chunk by chunk with back-pressure both ways; only
up to `capture_limit` bytes of it are also kept for the caller. An old API that cannot
be reached answers JSON 502, one that is too slow JSON 504, in the data plane's error
shape with the request id; one that fails after its answer began cannot be turned into
an error any more, so the client's connection is cut short instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

from starlette.types import Receive, Send

from gateway.http.splice import Capture, RequestHead
from httpkit.client import Body, ClientError, HttpClient, Response
from httpkit.headers import request_body_length
from legacy.config import LegacyConfig
from legacy.done import SpliceDone
from legacy.ports import (
    CapturedResponse,
    ForwardOutcome,
    ProxiedRequest,
    UpstreamError,
)
from legacy.proxy.failures import CLIENT_GONE, NO_UPSTREAM, reason_of, upstream_error
from legacy.proxy.headers import client_response_headers, upstream_request_headers
from legacy.proxy.request import request_target
from legacy.proxy.splice import LegacySplice, legacy_splice
from legacy.proxy.upstreams import NoUpstream, Upstream, Upstreams
from triggers.http.responses import json_error

# Answers up to this long (by Content-Length) are read whole before they are passed on.
_GATHERED = 64 * 1024


class ClientGone(Exception):
    """The client disconnected before its request body was all read."""


class LegacyProxy:
    def __init__(self, config: LegacyConfig, client: HttpClient) -> None:
        self._upstreams = Upstreams(config)
        # `legacy.upstream` alone: every request's, with nothing to look up.
        self._only = self._upstreams.only
        self.client = client

    async def forward(
        self,
        request: ProxiedRequest,
        receive: Receive,
        send: Send,
        *,
        body: bytes | None = None,
        capture_limit: int = 0,
    ) -> ForwardOutcome:
        started = time.perf_counter()
        upstream = self._choose(request)
        try:
            if isinstance(upstream, NoUpstream):
                raise UpstreamError(upstream.message, status=502, reason=NO_UPSTREAM)
            content, length = _request_body(request, receive, body)
            response = await self._send(upstream, request, (content, length))
            first = await _small_body(upstream, response)
        except UpstreamError as exc:
            await json_error(send, exc.status, exc.reason, exc.message, request.request_id)
            return ForwardOutcome(
                status=exc.status,
                upstream=None if isinstance(upstream, NoUpstream) else upstream.name,
                failure=exc.reason,
                duration_s=time.perf_counter() - started,
                captured=None,
            )
        headers = client_response_headers(response.headers, request.request_id)
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        capture = Capture(capture_limit)
        failure: str | None = None
        ended = False
        watcher: asyncio.Task[None] | None = None
        try:
            while not ended:
                if first is not None:
                    data, ended, first = first, True, None
                else:
                    data, ended = await response.read_some()
                capture.add(data)
                await send({"type": "http.response.body", "body": data, "more_body": not ended})
                # A long answer: the server drops what is sent to a client that left, so
                # without a watch the whole of it would still be read. Only once the
                # request's body is read: `receive` then waits for nothing but that.
                if watcher is None and not ended and isinstance(content, bytes):
                    watcher = asyncio.get_running_loop().create_task(
                        _abort_when_gone(receive, response)
                    )
        except ClientError as exc:
            # The answer began: returning without its end makes the server cut the
            # client's connection, so a partial body is never taken for a whole one.
            failure = CLIENT_GONE if response.aborted else reason_of(exc)
        finally:
            if watcher is not None:
                watcher.cancel()
            response.release(reuse=failure is None)
        duration = time.perf_counter() - started
        captured = None
        if capture_limit > 0 and failure is None:
            captured = CapturedResponse(
                status=response.status,
                headers=response.headers,
                body=capture.body(),
                duration_s=duration,
            )
        return ForwardOutcome(
            status=response.status,
            upstream=upstream.name,
            failure=failure,
            duration_s=duration,
            captured=captured,
        )

    async def fetch(self, request: ProxiedRequest, *, body: bytes, limit: int) -> CapturedResponse:
        started = time.perf_counter()
        upstream = self._choose(request)
        if isinstance(upstream, NoUpstream):
            raise UpstreamError(upstream.message, status=502, reason=NO_UPSTREAM)
        response = await self._send(upstream, request, (body, None))
        try:
            data = await response.read(limit)
        except ClientError as exc:
            response.release(reuse=False)
            raise upstream_error(upstream, exc) from None
        response.release()
        return CapturedResponse(
            status=response.status,
            headers=response.headers,
            body=data,
            duration_s=time.perf_counter() - started,
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    def splice(
        self, head: RequestHead, done: SpliceDone, capture_limit: int
    ) -> LegacySplice | None:
        upstream = self._only
        if upstream is None:
            chosen = self._choose(head)
            if isinstance(chosen, NoUpstream):
                return None  # the ASGI path answers the 502, with the reason
            upstream = chosen
        return legacy_splice(self.client, upstream, head, done, capture_limit)

    def _choose(self, request: ProxiedRequest | RequestHead) -> Upstream | NoUpstream:
        upstreams = self._upstreams
        if upstreams.only is not None:
            return upstreams.only
        if not upstreams.by_host:
            chosen = upstreams.choose(None, request.path)
            if isinstance(chosen, Upstream):
                return chosen
            # None takes it: the host is looked for only to say so in the 502.
        for name, value in request.headers:
            if name == b"host":
                return upstreams.choose(value.decode("latin-1"), request.path)
        return upstreams.choose(None, request.path)

    async def _send(
        self, upstream: Upstream, request: ProxiedRequest, body: tuple[Body, int | None]
    ) -> Response:
        content, length = body
        try:
            return await self.client.request(
                upstream.origin,
                request.method,
                request_target(request.raw_path, request.query_string),
                upstream_request_headers(request, upstream.origin.authority),
                content,
                content_length=length,
            )
        except ClientError as exc:
            raise upstream_error(upstream, exc) from None


async def _small_body(upstream: Upstream, response: Response) -> bytes | None:
    """A short answer's whole body, read before the client's answer starts: it goes out
    in one piece, and an old API that fails before its end still gets a clean 502/504."""
    length = response.length()
    if length is None or length > _GATHERED:
        return None
    try:
        return await response.read(_GATHERED)
    except ClientError as exc:
        response.release(reuse=False)
        raise upstream_error(upstream, exc) from None


async def _abort_when_gone(receive: Receive, response: Response) -> None:
    # The first message may be the request's (empty) body, unread so far.
    while (await receive())["type"] != "http.disconnect":
        pass
    response.abort("the client went away")


def _request_body(
    request: ProxiedRequest, receive: Receive, body: bytes | None
) -> tuple[Body, int | None]:
    """What goes to the old API as the body: `body` when the caller read it already,
    else the client's body streamed from `receive` (nothing when it has none)."""
    if body is not None:
        return body, None
    has_body, length = request_body_length(request.headers)
    if not has_body or length == 0:
        return b"", None
    return _stream(receive), length


async def _stream(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone("the client went away while sending its body")
        chunk: bytes = message.get("body", b"")
        if chunk:
            yield chunk
        if not message.get("more_body", False):
            return
