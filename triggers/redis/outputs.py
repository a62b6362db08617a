"""What a Redis Streams trigger writes back: the function's answers to `reply_stream`
and the entries that failed every attempt to `dead_letter`, with fields that say why.

An answer is an entry of `data` (the return value), `ce_source_id` (the event id it
answers) and `content-type` when the function gave one. A dead letter is the entry's
own fields plus `gaia-error`, `gaia-error-kind`, `gaia-attempts`, `gaia-revision`,
`gaia-trigger`, `gaia-stream` and `gaia-entry`.
"""

from __future__ import annotations

import redis.asyncio as redis
from redis.exceptions import RedisError

from runtime_adapters.base import InvocationResult
from triggers.answers import answer_headers
from triggers.pipeline import Failure, OutputFailed
from triggers.redis.events import Fields

_ERROR_FIELD_LIMIT = 4096


class Outputs:
    def __init__(self, *, client: redis.Redis, trigger_id: str, stream: str) -> None:
        self._client = client
        self._trigger_id = trigger_id
        self._stream = stream

    async def reply(self, reply_stream: str, result: InvocationResult, *, source_id: str) -> None:
        """XADD the answer; the entry is acknowledged only after. Raises OutputFailed,
        which the pipeline retries."""
        fields: dict[bytes, bytes] = {b"data": result.body, b"ce_source_id": source_id.encode()}
        for name, value in answer_headers(result):
            fields[name.encode()] = value
        try:
            await self._client.xadd(reply_stream, fields)  # type: ignore[arg-type]
        except RedisError as exc:
            raise OutputFailed(
                f"could not add the answer to {reply_stream}: {exc or type(exc).__name__}"
            ) from exc

    async def dead_letter(
        self, dead_letter: str, entry_id: str, fields: Fields, failure: Failure, *, revision: str
    ) -> None:
        """XADD the entry as it came plus gaia-* fields; raises when Redis does not take it
        (the key holds another type, the server is down...)."""
        letter = {
            **fields,
            b"gaia-error": failure.error.encode()[:_ERROR_FIELD_LIMIT],
            b"gaia-error-kind": failure.kind.encode(),
            b"gaia-attempts": str(failure.attempts).encode(),
            b"gaia-revision": revision.encode(),
            b"gaia-trigger": self._trigger_id.encode(),
            b"gaia-stream": self._stream.encode(),
            b"gaia-entry": entry_id.encode(),
        }
        await self._client.xadd(dead_letter, letter)  # type: ignore[arg-type]
