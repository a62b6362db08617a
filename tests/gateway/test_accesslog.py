from __future__ import annotations

import asyncio
import io
import json

from gateway.accesslog import JsonLines


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
