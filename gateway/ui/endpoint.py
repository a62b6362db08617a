"""`GET /v1/dashboard`: the dashboard's data as JSON, or as a stream of Server-Sent
Events for a client that asks with `Accept: text/event-stream`.

The stream sits behind the bearer token like every other data path. The page reads it
with fetch(), which can send the Authorization header (EventSource cannot), so the token
never appears in a URL, where access logs, proxies and the browser's history keep it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from gateway.admin.stages import accepts
from gateway.ui.dashboard import Dashboard

EVENT_STREAM = "text/event-stream"


class DashboardRoutes:
    def __init__(self, dashboard: Dashboard) -> None:
        self._dashboard = dashboard

    async def feed(self, request: Request) -> Response:
        if accepts(request, EVENT_STREAM):
            return StreamingResponse(
                self._dashboard.stream(),
                media_type=EVENT_STREAM,
                # Proxies must pass each event on as it comes.
                headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
            )
        return JSONResponse(await self._dashboard.view())
