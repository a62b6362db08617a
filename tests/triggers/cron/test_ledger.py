"""The Redis ledger against a real redis-server that restarts."""

from __future__ import annotations

import asyncio

from tests.brokers.redis import RedisServer
from triggers.cron.ledger import RedisLedger, Run


async def test_a_ledger_whose_redis_restarted_while_idle_answers_the_next_call(
    own_redis: RedisServer,
) -> None:
    ledger = RedisLedger(own_redis.url)
    try:
        first = Run(run_id="t@1", scheduled=1.0, replica="a", outcome="succeeded")
        assert await ledger.claim("t", first)
        # Two pooled connections, each of which the restart closes.
        both = await asyncio.gather(ledger.history("t", limit=5), ledger.history("t", limit=5))
        assert list(both) == [[first], [first]]
        own_redis.stop()
        own_redis.start()
        # Nothing used the ledger during the outage: its connections learn of it only now.
        assert await ledger.history("t", limit=5) == [first]
        second = Run(run_id="t@2", scheduled=2.0, replica="a", outcome="succeeded")
        assert await ledger.claim("t", second)
        assert await ledger.history("t", limit=5) == [second, first]
    finally:
        await ledger.aclose()
