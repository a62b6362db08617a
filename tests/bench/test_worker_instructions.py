"""bench.worker_instructions measures what it says: each side answers the app's
`hello` over its kept connection, and the gaia side is fed the head the gateway
really writes a worker."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from bench import worker_instructions
from bench.splice_functions import FunctionSetup


@pytest.mark.parametrize("side", worker_instructions.SIDES)
async def test_each_side_answers_every_request(side: str, tmp_path: Path) -> None:
    path = str(tmp_path / "http.sock")
    request = await worker_instructions._serve(side, path)
    requests = await worker_instructions._client(path, request)
    # Raises on an answer that is not a 200 ending in the app's `hello`.
    await asyncio.wait_for(requests(3), timeout=10)


async def test_the_gaia_side_is_fed_the_gateways_head() -> None:
    setup = await FunctionSetup.build("function")
    written: list[bytes] = []
    transport = setup.upstream.transport
    assert transport is not None
    transport.write = written.append  # type: ignore[method-assign,assignment]
    try:
        setup.one()
    finally:
        await setup.aclose()
    (head,) = written
    ids = re.compile(rb"x-gaia-context: [0-9a-f]{16} ")
    assert ids.sub(b"x-gaia-context: ID ", head) == ids.sub(
        b"x-gaia-context: ID ", worker_instructions.GATEWAY_REQUEST
    )
