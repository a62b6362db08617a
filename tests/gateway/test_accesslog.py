from __future__ import annotations

import asyncio
import io
import json
import logging
from datetime import datetime, timedelta

from gateway.accesslog import FunctionLogTap, JsonFormatter, JsonLines
from gateway.logs import FunctionLogs, LogFilter, LogRecord


def test_lines_written_outside_a_loop_reach_the_stream_at_once() -> None:
    stream = io.BytesIO()
    JsonLines(stream).write({"request_id": "a", "status": 200})
    assert json.loads(stream.getvalue()) == {"request_id": "a", "status": 200}


async def test_lines_of_one_loop_iteration_go_out_together_before_the_next() -> None:
    stream = io.BytesIO()
    lines = JsonLines(stream)
    lines.write({"n": 1})
    lines.write({"n": 2})
    assert stream.getvalue() == b""  # batched until the iteration ends
    await asyncio.sleep(0)
    assert [json.loads(line) for line in stream.getvalue().splitlines()] == [{"n": 1}, {"n": 2}]


def test_the_gateways_own_lines_carry_time_level_and_the_invocation_they_are_about() -> None:
    logs = FunctionLogs()
    stream = io.StringIO()
    logger = logging.getLogger("gaia.test.accesslog")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.addHandler(FunctionLogTap(logs))
    try:
        about = {"request_id": "r1", "function": "hello", "revision": 3, "trigger": "http"}
        logger.error("it broke", extra=about)
        logger.warning("about the gateway")
    finally:
        logger.handlers.clear()
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first == {
        "time": first["time"],
        "level": "error",
        "logger": "gaia.test.accesslog",
        "message": "it broke",
        **about,
    }
    assert datetime.fromisoformat(first["time"]).utcoffset() == timedelta(0)
    assert "function" not in second and second["level"] == "warning"
    # Only the line about a function reaches its ring.
    assert [line["message"] for line in logs.recent("hello", LogFilter())] == ["it broke"]


def test_every_line_written_about_a_function_also_reaches_its_ring() -> None:
    logs = FunctionLogs()
    stream = io.BytesIO()
    lines = JsonLines(stream, logs=logs)
    about: LogRecord = {"level": "info", "function": "f", "status": 200}
    lines.write(about)
    lines.write({"level": "info", "status": 404})  # about no function: the stream's only
    assert logs.recent("f", LogFilter()) == [about]
    assert [json.loads(line) for line in stream.getvalue().splitlines()] == [
        about,
        {"level": "info", "status": 404},
    ]
