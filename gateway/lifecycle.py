"""Where the gateway is in its life, as its probes tell it (on the admin listener).

- `/healthz` (liveness): 200 as soon as the process listens, through start and drain.
- `/readyz` (readiness): 200 only while serving with the pools behind every routed
  alias warm; 503 while starting (loading the state, applying `-f`, warming), while a
  revision some alias routes to has no warm pool, and from SIGTERM on (draining).

The admin listener starts before the state is loaded, so that a slow start (a large
`requirements.txt` to install) is alive but not ready, as Kubernetes expects; until
then `StartingAdmin` answers the probes and refuses the rest of the admin API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import msgspec
from starlette.types import ASGIApp, Receive, Scope, Send

from gateway.control import ControlPlane

Phase = Literal["starting", "serving", "draining"]
_encode = msgspec.json.Encoder().encode


class Lifecycle:
    def __init__(self) -> None:
        self.phase: Phase = "starting"
        self._control: ControlPlane | None = None

    def serving(self, control: ControlPlane) -> None:
        self._control = control
        self.phase = "serving"

    def draining(self) -> None:
        self.phase = "draining"

    def readiness(self) -> tuple[int, dict[str, str]]:
        """The status and body `/readyz` answers."""
        if self.phase == "draining":
            return 503, {"status": "draining", "message": "shutting down: send nothing new"}
        control = self._control
        if self.phase == "starting" or control is None:
            return 503, {
                "status": "starting",
                "message": "loading the state and warming the pools behind routed aliases",
            }
        cold = _cold(control)
        if cold:
            return 503, {"status": "warming", "message": f"waiting for {', '.join(cold)} to warm"}
        return 200, {"status": "ready", "message": "serving"}


def _cold(control: ControlPlane) -> list[str]:
    """Revisions an alias routes to that no runtime has a pool for."""
    snapshot = control.snapshot
    warm = {pool.key for runtime in control.runtimes.values() for pool in runtime.status()}
    return sorted(
        str(key) for key in snapshot.referenced() if key in snapshot.revisions and key not in warm
    )


class StartingAdmin:
    """The admin listener's app: the probes until `app` (the admin API) is set, then it."""

    def __init__(self, lifecycle: Lifecycle) -> None:
        self.lifecycle = lifecycle
        self.app: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self.app
        if app is not None:
            await app(scope, receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope["path"]
        body: Mapping[str, str | None]
        if path == "/healthz":
            status, body = 200, {"status": "ok"}
        elif path == "/readyz":
            status, body = self.lifecycle.readiness()
        else:
            status, body = (
                503,
                {
                    "error": "starting",
                    "message": "gaia is starting: the admin API answers once its state is loaded",
                    "request_id": None,
                },
            )
        payload = _encode(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
