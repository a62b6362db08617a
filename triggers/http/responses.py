"""Reading request bodies and writing responses in raw ASGI, for the HTTP trigger."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec
from starlette.types import Receive, Send

from runtime_adapters.base import (
    FunctionFailed,
    InvocationResult,
    PoolSaturated,
    RuntimeAdapterError,
    runtime_error_code,
)

_encode = msgspec.json.Encoder().encode
_JSON = (b"content-type", b"application/json")
_NO_BODY = frozenset((*range(100, 200), 204, 304))


class BodyTooLarge(Exception):
    pass


async def read_body(receive: Receive, headers: list[tuple[bytes, bytes]], *, limit: int) -> bytes:
    """The whole request body; BodyTooLarge as soon as it is known to pass `limit`."""
    for name, value in headers:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLarge(f"request body of {int(value)} bytes is over the limit of {limit}")
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        if len(body) > limit:
            raise BodyTooLarge(f"request body is over the limit of {limit} bytes")
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body", False):
        message = await receive()
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def json_error(
    send: Send,
    status: int,
    error: str,
    message: str,
    request_id: str,
    *,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> int:
    headers, body = error_answer(error, message, request_id)
    if extra_headers:
        headers.extend(extra_headers)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


def error_answer(
    error: str, message: str, request_id: str
) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The data plane's JSON error: its headers and body (whatever writes them)."""
    body = _encode({"error": error, "message": message, "request_id": request_id})
    headers = [
        _JSON,
        (b"content-length", str(len(body)).encode()),
        (b"x-request-id", request_id.encode()),
    ]
    return headers, body


async def send_result(
    send: Send, result: InvocationResult, request_id: str, revision_header: tuple[bytes, bytes]
) -> int:
    return await send_answer(
        send, result.status, result.headers, result.body, request_id, revision_header
    )


async def send_answer(
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    request_id: str,
    revision_header: tuple[bytes, bytes],
) -> int:
    """A function's answer as an HTTP trigger gives it, whichever path invoked it."""
    headers = list(headers)
    # Without a length uvicorn falls back to chunked encoding for a body it already has.
    # None on a 1xx, 204 or 304 (RFC 9110 8.6): those have no body to measure.
    if status not in _NO_BODY and not any(name == b"content-length" for name, _ in headers):
        headers.append((b"content-length", str(len(body)).encode()))
    headers.append((b"x-request-id", request_id.encode()))
    headers.append(revision_header)
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
    return status


@dataclass(frozen=True, kw_only=True, slots=True)
class FailureAnswer:
    """The JSON error an invocation that gave no answer becomes."""

    status: int
    error: str
    message: str
    headers: list[tuple[bytes, bytes]]


def failure_answer(
    exc: RuntimeAdapterError, request_id: str, revision_header: tuple[bytes, bytes]
) -> FailureAnswer:
    if isinstance(exc, PoolSaturated):
        return FailureAnswer(
            status=503,
            error=runtime_error_code(exc),
            message=exc.message,
            headers=[(b"retry-after", str(exc.retry_after_s).encode()), revision_header],
        )
    if isinstance(exc, FunctionFailed):
        # The traceback went to the logs with the request id; the caller gets only the id.
        return FailureAnswer(
            status=500,
            error=runtime_error_code(exc),
            message=f"the function raised an exception; see the logs for request {request_id}",
            headers=[revision_header],
        )
    return FailureAnswer(
        status=exc.status,
        error=runtime_error_code(exc),
        message=exc.message,
        headers=[revision_header],
    )
