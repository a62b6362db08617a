"""An in-memory Store for unit tests of the code above it."""

from __future__ import annotations

from gateway.store.base import Changes, Store, StoredState


class MemoryStore(Store):
    def __init__(self) -> None:
        self._state = StoredState()

    def load(self) -> StoredState:
        return self._state

    def write(self, changes: Changes) -> None:
        self._state = self._state.merged(changes)
