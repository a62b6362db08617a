"""The HTTP client container instances are reached with: one keep-alive pool per
instance. It is the one module that names the client library, so a faster client
(issue 14 item 4) replaces it here alone."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

# Per-connection headers (RFC 9110 7.6.1) are the gateway's business, not the
# instance's; the length is recomputed for the body as received.
HOP_BY_HOP = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
    }
)


class ConnectionFailed(Exception):
    """No answer: the connection could not be made, or closed before a response."""


class TimedOut(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class Response:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class InstanceClient:
    def __init__(self, *, port: int, connections: int) -> None:
        self._client = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}",
            limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
            timeout=None,
        )

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        timeout_s: float,
    ) -> Response:
        """Send one request; `target` is the path and query. The body comes back as
        sent (no content decoding)."""
        sent = [(name, value) for name, value in headers if name.lower() not in HOP_BY_HOP]
        try:
            request = self._client.build_request(
                method, target, headers=sent, content=body, timeout=httpx.Timeout(timeout_s)
            )
            response = await self._client.send(request, stream=True)
            try:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise TimedOut(str(exc) or type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise ConnectionFailed(str(exc) or type(exc).__name__) from exc
        return Response(
            status=response.status_code,
            headers=[(n, v) for n, v in response.headers.raw if n.lower() not in HOP_BY_HOP],
            body=raw,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
