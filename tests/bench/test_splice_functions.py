"""bench.splice_cost's function states measure the splice path, not some other: each
request is spliced to the leased instance, its slot comes back, and its access line is
the gateway's."""

from __future__ import annotations

import json

import pytest

from bench.splice_functions import FUNCTION_STATES, FunctionSetup


@pytest.mark.parametrize("state", FUNCTION_STATES)
async def test_each_request_is_spliced_to_the_leased_instance(state: str) -> None:
    setup = await FunctionSetup.build(state)
    try:
        for _ in range(3):
            setup.one()
        counters = setup.protocol.counters  # type: ignore[attr-defined]
        assert counters.spliced == 3
        assert setup.client_side.writes >= 3
        (status,) = setup.runtimes["python" if state == "function" else "container"].status()
        assert (status.in_flight, status.queued) == (0, 0)
        setup.access_log.flush()
        lines = [json.loads(line) for line in setup.log.getvalue().splitlines()]
        assert [(line["route"], line["revision"], line["status"]) for line in lines] == [
            ("/hello", 1, 200)
        ] * 3
    finally:
        await setup.aclose()
