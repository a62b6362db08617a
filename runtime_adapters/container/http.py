"""How container instances are reached: gaia's pooled keep-alive HTTP/1.1 client
(httpkit/client.py, chosen by measurement), one per instance. The one module that
names the client, so it moves with it."""

from __future__ import annotations

import asyncio

from httpkit.client import ClientError, HttpClient, Origin
from httpkit.headers import end_to_end
from runtime_adapters.base import InvocationResult
from runtime_adapters.deadlines import Deadlines

# The instance's framing and date are for its hop; the gateway's server writes its own.
_RESPONSE_DROP = frozenset({b"content-length", b"date"})
_REQUEST_DROP = frozenset({b"content-length"})
# An answer larger than this is refused rather than held in memory.
MAX_BODY_BYTES = 64 * 1024 * 1024


class ConnectionFailed(Exception):
    """No usable answer: no connection, or it closed (or overflowed) before the end."""


class TimedOut(Exception):
    pass


class InstanceClient:
    def __init__(self, *, port: int, timeout_s: float, deadlines: Deadlines) -> None:
        self._origin = Origin(host="127.0.0.1", port=port, tls=False)
        self._host = f"127.0.0.1:{port}".encode()
        # The whole exchange is bounded by each request's own timeout; these only keep
        # the client's own timers from firing first.
        self._client = HttpClient(connect_timeout_s=timeout_s, read_timeout_s=timeout_s)
        self._deadlines = deadlines

    async def request(
        self,
        method: str,
        target: bytes,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        timeout_s: float,
    ) -> InvocationResult:
        """Send one request; `target` is the path and query as they go on the request
        line. The body comes back as sent; the client's Host is kept (an instance may
        serve several)."""
        sent = end_to_end(headers, also_drop=_REQUEST_DROP)
        for name, _ in sent:
            if name == b"host":
                break
        else:
            sent.append((b"host", self._host))
        # What asyncio.timeout does, on the pool's shared timer (deadlines.py).
        task = asyncio.current_task()
        assert task is not None
        cancelling = task.cancelling()
        deadline = self._deadlines.call_later(timeout_s, task.cancel)
        try:
            response = await self._client.request(self._origin, method, target, sent, body)
            try:
                data = await response.read(MAX_BODY_BYTES)
            finally:
                response.release()
        except asyncio.CancelledError:
            if deadline.fired and task.uncancel() <= cancelling:
                raise TimedOut(f"no answer within {timeout_s:g}s") from None
            raise
        except ClientError as exc:
            if exc.timed_out:
                raise TimedOut(exc.message) from None
            raise ConnectionFailed(exc.message) from None
        finally:
            deadline.cancel()
        if data is None:
            raise ConnectionFailed(f"an answer larger than {MAX_BODY_BYTES >> 20} MiB")
        return InvocationResult(
            status=response.status,
            headers=end_to_end(response.headers, also_drop=_RESPONSE_DROP),
            body=data,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
