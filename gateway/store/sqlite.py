"""The embedded store: one SQLite file in GAIA_HOME, no server needed.

Its version is SQLite's own `user_version` header field, written in each write's
transaction, so it moves with the data or not at all.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from gateway.store import codec
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
    check_base,
)
from legacy.config import LegacyConfig, LegacyRouteConfig
from legacy.ledger import EvidenceAt, LedgerChange, LedgerEntry
from routing.traffic import AliasSpec

_SCHEMA = """
CREATE TABLE IF NOT EXISTS functions (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS revisions (
    function TEXT NOT NULL REFERENCES functions(name),
    number INTEGER NOT NULL,
    digest TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (function, number),
    UNIQUE (function, digest)
);
CREATE TABLE IF NOT EXISTS aliases (
    function TEXT NOT NULL REFERENCES functions(name),
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    updated_at REAL NOT NULL,
    PRIMARY KEY (function, name)
);
CREATE TABLE IF NOT EXISTS alias_history (
    function TEXT NOT NULL REFERENCES functions(name),
    alias TEXT NOT NULL,
    at REAL NOT NULL,
    before TEXT,
    after TEXT NOT NULL,
    by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS legacy_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    config TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_routes (
    path TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    since REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_history (
    path TEXT NOT NULL,
    at REAL NOT NULL,
    action TEXT NOT NULL,
    before TEXT,
    after TEXT,
    evidence TEXT,
    actor TEXT NOT NULL,
    channel TEXT NOT NULL,
    gate TEXT,
    forced INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS startup_file (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    digest TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS triggers (
    id TEXT PRIMARY KEY,
    function TEXT NOT NULL REFERENCES functions(name),
    kind TEXT NOT NULL,
    spec TEXT NOT NULL
);
"""


def _json(data: object) -> str:
    return codec.dumps(data)


def _route(stored: str | None) -> LegacyRouteConfig | None:
    return codec.route_of(json.loads(stored)) if stored else None


class SQLiteStore(Store):
    kind = "sqlite"

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE ... COMMIT).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)

    async def load(self) -> StoredState:
        db = self._db
        return StoredState(
            version=self._version(),
            functions=tuple(
                FunctionRecord(name=name, created_at=created)
                for name, created in db.execute("SELECT name, created_at FROM functions")
            ),
            revisions=tuple(
                RevisionRecord(function=fn, number=n, digest=d, config=json.loads(c), created_at=t)
                for fn, n, d, c, t in db.execute(
                    "SELECT function, number, digest, config, created_at FROM revisions "
                    "ORDER BY function, number"
                )
            ),
            aliases=tuple(
                AliasRecord(
                    function=fn,
                    name=name,
                    spec=codec.served_spec(fn, name, json.loads(spec)),
                    updated_at=t,
                )
                for fn, name, spec, t in db.execute(
                    "SELECT function, name, spec, updated_at FROM aliases"
                )
            ),
            triggers=tuple(
                TriggerRecord(id=tid, function=fn, kind=kind, spec=json.loads(spec))
                for tid, fn, kind, spec in db.execute(
                    "SELECT id, function, kind, spec FROM triggers ORDER BY rowid"
                )
            ),
            history=tuple(
                AliasChange(
                    function=fn,
                    alias=alias,
                    at=at,
                    before=AliasSpec.from_dict(json.loads(before)) if before else None,
                    after=AliasSpec.from_dict(json.loads(after)),
                    by=by,
                )
                for fn, alias, at, before, after, by in db.execute(
                    "SELECT function, alias, at, before, after, by FROM alias_history "
                    "ORDER BY rowid"
                )
            ),
            legacy=next(
                (
                    LegacyConfig.from_dict(json.loads(config))
                    for (config,) in db.execute("SELECT config FROM legacy_settings")
                ),
                None,
            ),
            ledger=tuple(
                LedgerEntry(route=LegacyRouteConfig.from_dict(json.loads(r)), since=s, updated_at=u)
                for r, s, u in db.execute(
                    "SELECT route, since, updated_at FROM ledger_routes ORDER BY path"
                )
            ),
            ledger_history=tuple(
                LedgerChange(
                    path=path,
                    at=at,
                    action=action,
                    before=_route(before),
                    after=_route(after),
                    evidence=EvidenceAt.from_dict(json.loads(evidence)) if evidence else None,
                    actor=actor,
                    channel=channel,
                    gate=gate,
                    forced=bool(forced),
                )
                for path, at, action, before, after, evidence, actor, channel, gate, forced in (
                    db.execute(
                        "SELECT path, at, action, before, after, evidence, actor, channel,"
                        " gate, forced FROM ledger_history ORDER BY rowid"
                    )
                )
            ),
            startup_file=next(
                (digest for (digest,) in db.execute("SELECT digest FROM startup_file")), None
            ),
        )

    def _version(self) -> int:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        return int(version)

    async def version(self) -> int:
        return self._version()

    async def write(self, changes: Changes, *, base: StoredState, by: str = "") -> None:
        if not changes:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            check_base(self._version(), base)
            for function, alias in changes.deleted_aliases:
                db.execute(
                    "DELETE FROM alias_history WHERE function = ? AND alias = ?", (function, alias)
                )
                db.execute("DELETE FROM aliases WHERE function = ? AND name = ?", (function, alias))
            for function in changes.deleted_functions:
                # Children first: the foreign keys refuse an orphan.
                for table in ("alias_history", "triggers", "aliases", "revisions"):
                    db.execute(f"DELETE FROM {table} WHERE function = ?", (function,))
                db.execute("DELETE FROM functions WHERE name = ?", (function,))
            db.executemany(
                "INSERT INTO functions (name, created_at) VALUES (?, ?) "
                "ON CONFLICT(name) DO NOTHING",
                [(f.name, f.created_at) for f in changes.functions],
            )
            db.executemany(
                "DELETE FROM revisions WHERE function = ? AND number = ?",
                changes.deleted_revisions,
            )
            db.executemany(
                "INSERT INTO revisions (function, number, digest, config, created_at) "
                "VALUES (?, ?, ?, ?, ?)",
                [
                    (r.function, r.number, r.digest, _json(r.config), r.created_at)
                    for r in changes.revisions
                ],
            )
            db.executemany(
                "INSERT INTO aliases (function, name, spec, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(function, name) DO UPDATE SET spec=excluded.spec, "
                "updated_at=excluded.updated_at",
                [
                    (a.function, a.name, _json(a.spec.to_dict()), a.updated_at)
                    for a in changes.aliases
                ],
            )
            db.executemany(
                "INSERT INTO alias_history (function, alias, at, before, after, by) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (
                        h.function,
                        h.alias,
                        h.at,
                        _json(h.before.to_dict()) if h.before else None,
                        _json(h.after.to_dict()),
                        h.by,
                    )
                    for h in changes.history
                ],
            )
            if changes.legacy is not None:
                db.execute(
                    "INSERT INTO legacy_settings (id, config) VALUES (1, ?) "
                    "ON CONFLICT(id) DO UPDATE SET config=excluded.config",
                    (codec.model_json(changes.legacy),),
                )
            db.executemany(
                "DELETE FROM ledger_routes WHERE path = ?",
                [(path,) for path in changes.ledger_removed],
            )
            db.executemany(
                "INSERT INTO ledger_routes (path, route, since, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(path) DO UPDATE SET route=excluded.route, since=excluded.since, "
                "updated_at=excluded.updated_at",
                [
                    (e.path, codec.model_json(e.route), e.since, e.updated_at)
                    for e in changes.ledger
                ],
            )
            db.executemany(
                "INSERT INTO ledger_history (path, at, action, before, after, evidence, actor,"
                " channel, gate, forced) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        h.path,
                        h.at,
                        h.action,
                        codec.model_json(h.before),
                        codec.model_json(h.after),
                        _json(h.evidence.to_dict()) if h.evidence else None,
                        h.actor,
                        h.channel,
                        h.gate,
                        int(h.forced),
                    )
                    for h in changes.ledger_history
                ],
            )
            if changes.startup_file is not None:
                db.execute(
                    "INSERT INTO startup_file (id, digest) VALUES (1, ?) "
                    "ON CONFLICT(id) DO UPDATE SET digest=excluded.digest",
                    (changes.startup_file,),
                )
            for function, replacement in changes.triggers.items():
                db.execute("DELETE FROM triggers WHERE function = ?", (function,))
                db.executemany(
                    "INSERT INTO triggers (id, function, kind, spec) VALUES (?, ?, ?, ?)",
                    [(t.id, t.function, t.kind, _json(t.spec)) for t in replacement],
                )
            # PRAGMA takes no parameters; the value is an int this code computed.
            db.execute(f"PRAGMA user_version = {base.version + 1:d}")
        except sqlite3.IntegrityError as exc:
            db.execute("ROLLBACK")
            raise StoreConflict(f"write refused, nothing changed: {exc}") from exc
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def close(self) -> None:
        self._db.close()
