"""The state store: functions, revisions, aliases and triggers, persisted atomically.

Backends are chosen by URL from `open_store`: nothing or a path (SQLite, the embedded
default), `redis://` (the shared store, for several replicas) or `memory://` for unit
tests.
"""

from __future__ import annotations

from pathlib import Path

from gateway.store.base import (
    AliasChange,
    AliasRecord,
    ChangeNote,
    Changes,
    FunctionRecord,
    RevisionRecord,
    Store,
    StoreChanged,
    StoreConflict,
    StoredState,
    StoreUnavailable,
    TriggerRecord,
)
from gateway.store.memory import MemoryStore
from gateway.store.sqlite import SQLiteStore

__all__ = [
    "AliasChange",
    "AliasRecord",
    "ChangeNote",
    "Changes",
    "FunctionRecord",
    "MemoryStore",
    "RevisionRecord",
    "SQLiteStore",
    "Store",
    "StoreChanged",
    "StoreConflict",
    "StoreUnavailable",
    "StoredState",
    "TriggerRecord",
    "open_store",
]


def open_store(url: str | None, *, home: Path, replica: str = "") -> Store:
    """`replica` names this gateway in the notes a shared store keeps of each write."""
    if url is None or url in ("", "sqlite"):
        return SQLiteStore(home / "gaia.db")
    if url.startswith("sqlite:///"):
        return SQLiteStore(Path(url.removeprefix("sqlite:///")))
    if url == "memory://":
        return MemoryStore()
    if url.startswith(("redis://", "rediss://", "unix://")):
        # Imported here: a gateway on the embedded store loads no Redis client.
        from gateway.store.redis import RedisStore

        return RedisStore(url, replica=replica)
    raise ValueError(
        f"GAIA_STORE={url!r} is not a store this gateway knows: expected sqlite:///PATH, "
        "redis://HOST:PORT/DB or memory://"
    )
