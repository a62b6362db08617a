"""The data plane: HTTP triggers as a plain ASGI callable.

This is the per-request hot path, so it talks ASGI directly (typed with Starlette's own
Scope/Receive/Send) instead of building Starlette Request and Response objects: the
measured cost of those was a large share of the gateway's own overhead.

It is also the protocol's `Splicer` (gateway/http/splice.py): a request the data plane
only passes on skips the ASGI cycle altogether, with the same access line, metrics and
limits. That is a request no HTTP trigger takes that the fallback passes on as it is,
and an HTTP trigger's request to a revision whose instances serve HTTP themselves when
one has a slot free at once (its runtime lends it: runtime_adapters/lease.py); that half
is gateway/splice_plan.py's `PlanSplicer`, compiled with the plans. Whatever
needs more goes the ASGI way: a traced request (its spans), a body without a length or
over the limit (read whole, to refuse it), a limit that must wait or refuse, an open
circuit, an instance to queue for, an unknown alias or tag (answered there).
"""

from __future__ import annotations

import os
import time
from typing import Protocol

from starlette.types import Receive, Scope, Send

from gateway.accesslog import JsonLines
from gateway.control import ControlPlane
from gateway.errors import NotFound
from gateway.guard import Ticket
from gateway.http.splice import RequestHead, Splice
from gateway.invoker import Invoker
from gateway.logs import log_time
from gateway.splice_plan import PlanSplicer
from limits.errors import CircuitOpen, Refused
from routing.aliases import sticky_key_from
from routing.errors import UnknownTag
from routing.routes import MethodNotAllowed, RouteMatch
from routing.traffic import Sticky
from runtime_adapters.base import HttpRequest, RuntimeAdapterError
from triggers.http.responses import (
    BodyTooLarge,
    error_answer,
    failure_answer,
    json_error,
    read_body,
    send_result,
)
from triggers.http.splice import TriggerSplice

DEFAULT_BODY_LIMIT = 10 * 1024 * 1024


class Fallback(Protocol):
    """Answers a request no HTTP trigger takes (a 404 or a 405 otherwise); the status."""

    async def __call__(
        self, scope: Scope, receive: Receive, send: Send, request_id: str
    ) -> int: ...

    def splice(self, head: RequestHead) -> Splice | None:
        """How to pass the request on without an ASGI cycle (`head.request_id` is set);
        None when it needs one."""
        ...


class DataPlane(PlanSplicer):
    """The ASGI app; its `Splicer` half (the spliced requests) is `PlanSplicer`'s."""

    def __init__(
        self,
        *,
        control: ControlPlane,
        invoker: Invoker,
        access_log: JsonLines,
        body_limit: int = DEFAULT_BODY_LIMIT,
        fallback: Fallback | None = None,
    ) -> None:
        super().__init__(
            control,
            invoker,
            access_log,
            body_limit,
            fallback,
            trigger="http",
            splice_to=TriggerSplice,
            error_answer=error_answer,
            id_prefix=os.urandom(4).hex(),
        )

    def use_fallback(self, fallback: Fallback | None) -> None:
        """From the next request on: a `legacy:` section applied while the gateway runs."""
        self._fallback = fallback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                await _lifespan(receive, send)
            return
        started = time.perf_counter()
        request_id = self._next_id()
        method: str = scope["method"]
        path: str = scope["path"]
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        host = tag = traceparent = None
        for name, value in headers:
            if name == b"host":
                host = value.decode("latin-1")
            elif name == b"x-gaia-tag":
                tag = value.decode("latin-1")
            elif name == b"traceparent":
                traceparent = value
        entry: dict[str, object] = {
            "time": log_time(time.time()),
            "level": "info",
            "request_id": request_id,
            "method": method,
            "path": path,
        }
        match = self._control.snapshot.routes.match(method, path, host)
        if isinstance(match, RouteMatch):
            route = match.route
            entry["route"] = route.path
            entry["function"] = route.target.function
            entry["trigger"] = "http"
            status = await self._routed(
                scope, receive, send, match, headers, tag, traceparent, entry
            )
        elif self._fallback is not None:
            entry["fallback"] = True
            status = await self._fallback(scope, receive, send, request_id)
        else:
            status = await _unrouted(send, match, method, path, request_id)
        entry["status"] = status
        entry["duration_ms"] = (time.perf_counter() - started) * 1000
        if status >= 500:
            entry["level"] = "error"
        self._access_log.write(entry)

    async def _routed(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        match: RouteMatch,
        headers: list[tuple[bytes, bytes]],
        tag: str | None,
        traceparent: bytes | None,
        entry: dict[str, object],
    ) -> int:
        request_id = str(entry["request_id"])
        query_string: bytes = scope["query_string"]

        def key_for(sticky: Sticky) -> str | None:
            return sticky_key_from(sticky, headers, query_string)

        try:
            resolved = self._invoker.resolve(match.route.target, tag=tag, sticky_key=key_for)
        except UnknownTag as exc:
            return await json_error(send, 404, "unknown_tag", str(exc), request_id)
        except NotFound as exc:
            return await json_error(send, 503, "not_ready", exc.message, request_id)
        entry["revision"] = resolved.key.revision
        entry["alias"] = resolved.alias
        try:
            body = await read_body(receive, headers, limit=self._body_limit)
        except BodyTooLarge as exc:
            return await json_error(send, 413, "body_too_large", str(exc), request_id)
        ticket: Ticket | None = None
        if self._invoker.guarded():
            try:
                resolved, ticket = await self._invoker.admit(
                    resolved, trigger_id=match.route.trigger_id, wait=False
                )
            except Refused as exc:
                return await _refused(send, exc, request_id, resolved.label)
            entry["revision"] = resolved.key.revision
        event = HttpRequest(
            method=scope["method"],
            path=scope["path"],
            query_string=query_string,
            headers=headers,
            params=match.params,
            body=body,
            raw_path=scope.get("raw_path") or b"",
        )
        revision_header = (b"x-gaia-revision", resolved.label)
        trace = self._invoker.begin_trace(traceparent)
        try:
            result = await self._invoker.invoke(
                resolved,
                request_id=request_id,
                trigger="http",
                event=event,
                ticket=ticket,
                trace=trace,
            )
        except RuntimeAdapterError as exc:
            failure = failure_answer(exc, request_id, revision_header)
            if trace is not None:  # a failure's trace is the one worth finding
                failure.headers.append((b"traceparent", trace.run.encode()))
            return await json_error(
                send,
                failure.status,
                failure.error,
                failure.message,
                request_id,
                extra_headers=failure.headers,
            )
        return await send_result(send, result, request_id, revision_header)


async def _refused(send: Send, exc: Refused, request_id: str, label: bytes) -> int:
    headers = [(b"retry-after", exc.retry_after_header)]
    if isinstance(exc, CircuitOpen):
        headers.append((b"x-gaia-revision", label))
    return await json_error(
        send, exc.status, exc.error, exc.message, request_id, extra_headers=headers
    )


async def _unrouted(
    send: Send, match: MethodNotAllowed | None, method: str, path: str, request_id: str
) -> int:
    if match is None:
        return await json_error(send, 404, "not_found", f"no route for {method} {path}", request_id)
    allow = ", ".join(sorted(match.allowed))
    return await json_error(
        send,
        405,
        "method_not_allowed",
        f"{method} is not allowed on {path}: expected one of {allow}",
        request_id,
        extra_headers=[(b"allow", allow.encode())],
    )


async def _lifespan(receive: Receive, send: Send) -> None:
    # The gateway's own lifespan context owns startup; uvicorn's lifespan is acknowledged.
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
