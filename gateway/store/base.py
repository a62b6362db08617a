"""Records the store keeps and the one write operation it offers: apply Changes atomically."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field

from legacy.config import LegacyConfig
from legacy.ledger import LedgerChange, LedgerEntry
from routing.traffic import AliasSpec


class StoreConflict(Exception):
    """A write contradicts what is stored (a revision number taken twice); nothing was written."""


@dataclass(frozen=True, kw_only=True)
class FunctionRecord:
    name: str
    created_at: float


@dataclass(frozen=True, kw_only=True)
class RevisionRecord:
    function: str
    number: int
    digest: str
    # The revision-defining config (runtime, handler, env, limits...), canonical JSON data.
    config: Mapping[str, object]
    created_at: float

    @property
    def label(self) -> str:
        return f"{self.function}@{self.number}"


@dataclass(frozen=True, kw_only=True)
class AliasRecord:
    function: str
    name: str
    spec: AliasSpec
    updated_at: float


@dataclass(frozen=True, kw_only=True)
class AliasChange:
    """One entry of an alias's history: what its traffic was, what it became, and why."""

    function: str
    alias: str
    at: float
    before: AliasSpec | None
    after: AliasSpec
    by: str


@dataclass(frozen=True, kw_only=True)
class TriggerRecord:
    id: str
    function: str
    kind: str
    spec: Mapping[str, object]


@dataclass(frozen=True, kw_only=True)
class StoredState:
    functions: tuple[FunctionRecord, ...] = ()
    revisions: tuple[RevisionRecord, ...] = ()
    aliases: tuple[AliasRecord, ...] = ()
    triggers: tuple[TriggerRecord, ...] = ()
    history: tuple[AliasChange, ...] = ()
    # The last applied `legacy:` section without its routes (the ledger holds those).
    legacy: LegacyConfig | None = None
    # Ordered by path.
    ledger: tuple[LedgerEntry, ...] = ()
    ledger_history: tuple[LedgerChange, ...] = ()

    def merged(self, changes: Changes) -> StoredState:
        """The state after `changes`, as every Store.write must leave it."""
        gone_functions = set(changes.deleted_functions)
        gone_aliases = set(changes.deleted_aliases)

        def kept(function: str, alias: str | None = None) -> bool:
            return function not in gone_functions and (function, alias) not in gone_aliases

        functions = {f.name: f for f in self.functions if kept(f.name)}
        for function in changes.functions:
            functions.setdefault(function.name, function)
        revisions = {(r.function, r.number): r for r in self.revisions if kept(r.function)}
        for gone in changes.deleted_revisions:
            revisions.pop(gone, None)
        for revision in changes.revisions:
            if (revision.function, revision.number) in revisions:
                raise StoreConflict(f"revision {revision.label} exists already")
            revisions[(revision.function, revision.number)] = revision
        aliases = {(a.function, a.name): a for a in self.aliases if kept(a.function, a.name)} | {
            (a.function, a.name): a for a in changes.aliases
        }
        triggers = [
            t for t in self.triggers if t.function not in changes.triggers and kept(t.function)
        ]
        for replacement in changes.triggers.values():
            triggers.extend(replacement)
        ledger = {e.path: e for e in self.ledger if e.path not in changes.ledger_removed}
        ledger.update((e.path, e) for e in changes.ledger)
        return StoredState(
            functions=tuple(functions.values()),
            revisions=tuple(revisions.values()),
            aliases=tuple(aliases.values()),
            triggers=tuple(triggers),
            history=tuple(h for h in self.history if kept(h.function, h.alias)) + changes.history,
            legacy=changes.legacy or self.legacy,
            ledger=tuple(ledger[path] for path in sorted(ledger)),
            ledger_history=self.ledger_history + changes.ledger_history,
        )


@dataclass(frozen=True, kw_only=True)
class Changes:
    """One atomic write. `triggers` replaces all triggers of each function named in it."""

    functions: tuple[FunctionRecord, ...] = ()
    revisions: tuple[RevisionRecord, ...] = ()
    aliases: tuple[AliasRecord, ...] = ()
    triggers: Mapping[str, tuple[TriggerRecord, ...]] = field(default_factory=dict)
    history: tuple[AliasChange, ...] = ()
    # (function, number) of revisions to forget: retention, never a referenced one.
    deleted_revisions: tuple[tuple[str, int], ...] = ()
    # `gaia delete`: functions forgotten with everything they own, and (function, alias)
    # pairs forgotten with their history.
    deleted_functions: tuple[str, ...] = ()
    deleted_aliases: tuple[tuple[str, str], ...] = ()
    # The `legacy:` settings (routes left out) replacing the stored ones; None: unchanged.
    legacy: LegacyConfig | None = None
    # Ledger routes written (a path's entry replaced) and paths removed, with history.
    ledger: tuple[LedgerEntry, ...] = ()
    ledger_removed: tuple[str, ...] = ()
    ledger_history: tuple[LedgerChange, ...] = ()

    def __bool__(self) -> bool:
        return bool(
            self.functions
            or self.revisions
            or self.aliases
            or self.triggers
            or self.history
            or self.deleted_revisions
            or self.deleted_functions
            or self.deleted_aliases
            or self.legacy
            or self.ledger
            or self.ledger_removed
            or self.ledger_history
        )


class Store(abc.ABC):
    @abc.abstractmethod
    def load(self) -> StoredState: ...

    @abc.abstractmethod
    def write(self, changes: Changes) -> None:
        """Apply every change or none of them."""

    def close(self) -> None:
        return None
