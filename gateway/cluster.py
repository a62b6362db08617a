"""Keeps a gateway on the shared store's newest version while other replicas change it.

The store tells the Follower when another replica may have written (a notice, a
reconnect, a periodic check); the Follower has the control plane take the new version
(`ControlPlane.resync`: warm, then route). While the store is unreachable the gateway
serves the last version it took, and the Follower says so in `GET /v1/status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass

from gateway.control import ControlPlane, NotAdopted

log = logging.getLogger("gaia.cluster")


@dataclass(frozen=True, kw_only=True)
class StoreStatus:
    kind: str
    version: int
    # False while a shared store cannot be reached; an embedded store always is.
    connected: bool
    # Why the gateway is not on the store's newest version, if it is not.
    error: str | None
    # When this gateway last confirmed it has the newest version (epoch seconds).
    checked_at: float | None

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "version": self.version,
            "connected": self.connected,
            "error": self.error,
            "checked_at": self.checked_at,
        }


class Follower:
    def __init__(self, control: ControlPlane) -> None:
        self._control = control
        self._task: asyncio.Task[None] | None = None
        self._connected = True
        self._error: str | None = None
        self._checked_at: float | None = None

    def start(self) -> None:
        if self._control.store.shared:
            self._task = asyncio.create_task(
                self._control.store.follow(self._changed, self._lost), name="store follower"
            )

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _changed(self, noticed: int | None) -> bool:
        try:
            taken = await self._control.resync(noticed)
        except NotAdopted as exc:
            if self._error != str(exc):
                log.error("%s; still serving version %d", exc, self._control.state.version)
            self._error = str(exc)
            return False
        if not self._connected:
            log.warning(
                "the shared store is back: serving its version %d", self._control.state.version
            )
        self._connected, self._error, self._checked_at = True, None, time.time()
        return taken

    def _lost(self, reason: str) -> None:
        if self._connected:
            log.error(
                "%s: serving version %d until it is back",
                reason,
                self._control.state.version,
            )
        self._connected, self._error = False, reason

    def status(self) -> StoreStatus:
        store = self._control.store
        return StoreStatus(
            kind=store.kind,
            version=self._control.state.version,
            connected=self._connected,
            error=self._error,
            checked_at=self._checked_at if store.shared else None,
        )
