"""`GET /v1/functions/{fn}/logs`: a function's recent log lines as NDJSON, optionally
followed as they come (`gaia logs`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable, Mapping

import msgspec
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from configkit.units import parse_duration
from gateway.control import ControlPlane
from gateway.errors import InvalidInput
from gateway.logs import LEVELS, FunctionLogs, LogFilter, LogRecord
from gateway.wire import NDJSON
from routing.names import MAX_REVISION

_encode = msgspec.json.Encoder().encode
_FLAGS = {"true": True, "1": True, "false": False, "0": False}


def log_query(query: Mapping[str, str], *, now: float) -> tuple[LogFilter, bool]:
    """The filter and whether to follow, from `revision`, `since`, `level` and `follow`;
    InvalidInput naming the parameter for a bad value."""
    revision = None
    if "revision" in query:
        text = query["revision"]
        if not (text.isdigit() and 1 <= int(text) <= MAX_REVISION):
            raise InvalidInput(
                f"revision: expected a whole number from 1 to {MAX_REVISION}, got {text!r}",
                field="revision",
            )
        revision = int(text)
    since = None
    if "since" in query:
        try:
            since = now - parse_duration(query["since"])
        except ValueError as exc:
            raise InvalidInput(f"since: {exc}", field="since") from None
    level = query.get("level", "debug")
    if level not in LEVELS:
        raise InvalidInput(
            f"level: expected one of {', '.join(LEVELS)}, got {level!r}", field="level"
        )
    follow = _FLAGS.get(query.get("follow", "false"))
    if follow is None:
        raise InvalidInput(
            f"follow: expected true or false, got {query['follow']!r}", field="follow"
        )
    return LogFilter(revision=revision, level=level, since=since), follow


def _lines(records: Iterable[LogRecord]) -> bytes:
    return b"".join(_encode(record) + b"\n" for record in records)


class LogRoutes:
    def __init__(self, *, control: ControlPlane, logs: FunctionLogs) -> None:
        self._control = control
        self._logs = logs

    async def read(self, request: Request) -> Response:
        name = request.path_params["fn"]
        log_filter, follow = log_query(request.query_params, now=time.time())
        self._control.function(name)  # NotFound for a function that does not exist
        if not follow:
            return Response(_lines(self._logs.recent(name, log_filter)), media_type=NDJSON)

        async def lines() -> AsyncIterator[bytes]:
            # Ends when the client leaves: Starlette cancels the stream on its disconnect.
            async for batch in self._logs.follow(name, log_filter):
                yield _lines(batch)

        return StreamingResponse(lines(), media_type=NDJSON)
