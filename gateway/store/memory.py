"""An in-memory Store for unit tests of the code above it.

`shared=True` makes it stand in for the shared store: several control planes given the
same one follow each other's changes, and it keeps bundles, as Redis does.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping

from gateway.store.base import (
    ChangeNote,
    Changes,
    OnChange,
    OnLost,
    Store,
    StoredState,
    check_base,
)


class MemoryStore(Store):
    kind = "memory"

    def __init__(self, *, shared: bool = False) -> None:
        self.shared = shared
        self._state = StoredState()
        self._notes: list[ChangeNote] = []
        self._bundles: dict[str, bytes] = {}
        self._changed = asyncio.Condition()

    async def load(self) -> StoredState:
        return self._state

    async def write(self, changes: Changes, *, base: StoredState, by: str = "") -> None:
        if not changes:
            return
        check_base(self._state.version, base, self._notes)
        self._state = self._state.merged(changes)
        note = ChangeNote(
            version=self._state.version,
            by=by or "write",
            replica="memory",
            at=time.time(),
            summary=changes.summary(),
        )
        self._notes.append(note)
        await self._keep(changes.bundles)

    async def restore(self, state: StoredState, *, bundles: Mapping[str, bytes]) -> bool:
        if not self.shared or self._state.version >= state.version:
            return False
        self._state = state
        await self._keep(bundles)
        return True

    async def _keep(self, bundles: Mapping[str, bytes]) -> None:
        if self.shared:
            self._bundles.update(bundles)
            in_use = {r.digest for r in self._state.revisions}
            self._bundles = {d: b for d, b in self._bundles.items() if d in in_use}
        async with self._changed:
            self._changed.notify_all()

    async def bundle(self, digest: str) -> bytes | None:
        return self._bundles.get(digest)

    async def follow(self, on_change: OnChange, on_lost: OnLost) -> None:
        if not self.shared:
            return
        seen = -1
        while True:
            async with self._changed:
                await self._changed.wait_for(functools.partial(self._moved, seen))
                seen = self._state.version
            await on_change(seen)

    def _moved(self, seen: int) -> bool:
        return self._state.version != seen
