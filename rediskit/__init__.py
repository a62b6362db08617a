"""How gaia opens an asyncio Redis client: the store, the cron ledger, the shared limits'
link and the Redis stream trigger each hold one, with their own timeouts."""

from __future__ import annotations

from redis import asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


def connect(
    url: str,
    *,
    timeout_s: float,
    connect_timeout_s: float,
    reconnect: bool = True,
    client_name: str | None = None,
) -> aioredis.Redis:
    """A client of `url` whose commands wait at most `timeout_s` for an answer.

    With `reconnect`, a command that meets a pooled connection Redis closed (a restart:
    redis-py's pool does not notice, and the *first* command after fails with
    "Connection closed by server" however long ago Redis came back) runs once more, at
    once, on a new connection. Only on connection errors: retrying a timeout would double
    what the caller waits on a Redis that does not answer, and leave a write's outcome
    twice unknown. Without it, a lost connection reaches the caller, as a subscription
    that must learn it may have missed messages needs.
    """
    return aioredis.Redis.from_url(
        url,
        socket_timeout=timeout_s,
        socket_connect_timeout=connect_timeout_s,
        client_name=client_name,
        retry=Retry(NoBackoff(), 1 if reconnect else 0, supported_errors=(RedisConnectionError,)),
    )
