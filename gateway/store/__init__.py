"""The state store: functions, revisions, aliases and triggers, persisted atomically.

Backends are chosen by URL from `open_store`: a path (SQLite, the embedded default) or
`memory://` for unit tests. Later backends (Redis, for replicas) implement `Store`.
"""

from __future__ import annotations

from pathlib import Path

from gateway.store.base import (
    AliasChange,
    AliasRecord,
    Changes,
    FunctionRecord,
    RevisionRecord,
    Store,
    StoreConflict,
    StoredState,
    TriggerRecord,
)
from gateway.store.memory import MemoryStore
from gateway.store.sqlite import SQLiteStore

__all__ = [
    "AliasChange",
    "AliasRecord",
    "Changes",
    "FunctionRecord",
    "MemoryStore",
    "RevisionRecord",
    "SQLiteStore",
    "Store",
    "StoreConflict",
    "StoredState",
    "TriggerRecord",
    "open_store",
]


def open_store(url: str | None, *, home: Path) -> Store:
    if url is None or url in ("", "sqlite"):
        return SQLiteStore(home / "gaia.db")
    if url.startswith("sqlite:///"):
        return SQLiteStore(Path(url.removeprefix("sqlite:///")))
    if url == "memory://":
        return MemoryStore()
    raise ValueError(
        f"GAIA_STORE={url!r} is not a store this gateway knows: expected sqlite:///PATH "
        "or memory:// (the shared Redis store is not available yet)"
    )
