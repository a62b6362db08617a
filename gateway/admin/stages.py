"""A publish's stages as they end, for a client that asks with `Accept:
application/x-ndjson` (as `docker build` streams its steps): one JSON line per stage,
`{"stage": "warm", "ms": 812.4}`, then one last line, the answer the endpoint gives
otherwise, or its error body.

Once the first line is sent the status is 200 whatever follows, so the last line is what
says how it ended. The control plane only calls a function as each stage ends; this
module is what turns those calls into HTTP.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.requests import Request
from starlette.responses import StreamingResponse

from gateway.admin.failures import error_body, internal_error_body
from gateway.control import StageDone
from gateway.errors import GaiaError
from gateway.wire import NDJSON

Run = Callable[[StageDone], Awaitable[dict[str, object]]]


def accepts(request: Request, media_type: str) -> bool:
    """Whether the request's Accept names `media_type` itself (not through */*)."""
    accepted = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == media_type for part in accepted.split(","))


def wants_stages(request: Request) -> bool:
    return accepts(request, NDJSON)


def stage_stream(run: Run, *, request_id: str) -> StreamingResponse:
    """Start `run`, passing it what sends a line per stage; its result or error ends the
    stream."""

    async def lines() -> AsyncIterator[bytes]:
        queue: asyncio.Queue[dict[str, object] | None] = asyncio.Queue()
        task = asyncio.ensure_future(
            run(lambda stage, ms: queue.put_nowait({"stage": stage, "ms": ms}))
        )
        # The sentinel follows every stage, which are put while the task runs. A client
        # that leaves does not cancel the publish: it runs to its end, as without a stream.
        task.add_done_callback(lambda _: queue.put_nowait(None))
        while (line := await queue.get()) is not None:
            yield _line(line)
        yield _line(_outcome(task, request_id))

    return StreamingResponse(lines(), media_type=NDJSON)


def _outcome(task: asyncio.Future[dict[str, object]], request_id: str) -> dict[str, object]:
    try:
        return task.result()
    except GaiaError as exc:
        return error_body(exc, request_id)
    except Exception as exc:
        return internal_error_body(exc, request_id, traceback=True)


def _line(data: dict[str, object]) -> bytes:
    return json.dumps(data).encode() + b"\n"
