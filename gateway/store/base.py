"""Records the store keeps and the one write operation it offers: apply Changes atomically.

Every stored state has a version, one more per write. A write names the state it was
planned on (`base`) and is refused with StoreChanged when the store has moved past it,
so that two gateways sharing one store never overwrite each other's changes unseen.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from legacy.config import LegacyConfig
from legacy.ledger import LedgerChange, LedgerEntry
from routing.traffic import AliasSpec
from triggers.base import SharedRedis


class StoreConflict(Exception):
    """A write contradicts what is stored (a revision number taken twice); nothing was written."""


@dataclass(frozen=True, kw_only=True)
class ChangeNote:
    """Who made one stored version, kept by shared stores so that a refused write can say
    what came first."""

    version: int
    by: str
    replica: str
    at: float
    summary: str

    def describe(self) -> str:
        return f"version {self.version}, {self.by} on {self.replica}: {self.summary}"


class StoreChanged(Exception):
    """The write was planned on version `base`, but the store holds `found`: another
    writer came first. Nothing was written."""

    def __init__(self, *, base: int, found: int, notes: tuple[ChangeNote, ...] = ()) -> None:
        self.base = base
        self.found = found
        self.notes = notes
        came = "; ".join(note.describe() for note in notes) or f"version {found}"
        super().__init__(f"the stored config moved from version {base} to {found} ({came})")


class StoreUnavailable(Exception):
    """The store cannot be reached. Nothing was written, unless `outcome_unknown`: the
    connection broke while the write was being committed."""

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


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
    # The sha256 of the file last applied at start-up (`gaia up -f`), with its code;
    # None: none ever was. A gateway starting with that file again leaves the state be.
    startup_file: str | None = None
    # One more per write; 0 for a store never written.
    version: int = 0

    def merged(self, changes: Changes) -> StoredState:
        """The state after `changes`, as every Store.write must leave it: one version on,
        unless `changes` holds nothing."""
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
            startup_file=changes.startup_file or self.startup_file,
            version=self.version + 1 if changes else self.version,
        )

    def as_changes(self) -> Changes:
        """Everything in this state, as one write onto an empty store."""
        triggers: dict[str, tuple[TriggerRecord, ...]] = {}
        for trigger in self.triggers:
            triggers[trigger.function] = (*triggers.get(trigger.function, ()), trigger)
        return Changes(
            functions=self.functions,
            revisions=self.revisions,
            aliases=self.aliases,
            triggers=triggers,
            history=self.history,
            legacy=self.legacy,
            ledger=self.ledger,
            ledger_history=self.ledger_history,
            startup_file=self.startup_file,
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
    # The digest of the file a gateway applies at start-up, replacing the stored one;
    # None: unchanged.
    startup_file: str | None = None
    # Stores that hold bundles (shared ones, so any gateway can warm any revision): the
    # packed bundle of each new revision's digest. Not a change by itself.
    bundles: Mapping[str, bytes] = field(default_factory=dict)

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
            or self.startup_file
        )

    def summary(self) -> str:
        """What the write touches, for the notes a shared store keeps: `hello@3, alias
        hello:prod, triggers of hello`."""
        parts = [f"new function {f.name}" for f in self.functions]
        parts += [r.label for r in self.revisions]
        parts += [f"alias {a.function}:{a.name}" for a in self.aliases]
        parts += [f"triggers of {function}" for function in self.triggers]
        parts += [f"deleted {function}" for function in self.deleted_functions]
        parts += [f"deleted alias {f}:{a}" for f, a in self.deleted_aliases]
        parts += [f"retired {f}@{n}" for f, n in self.deleted_revisions]
        if self.legacy is not None:
            parts.append("legacy settings")
        paths = sorted({e.path for e in self.ledger} | set(self.ledger_removed))
        parts += [f"ledger route {path}" for path in paths]
        if self.startup_file is not None:
            parts.append(f"start-up file sha256 {self.startup_file[:12]}")
        return ", ".join(parts) or "nothing"


# Takes whatever the store holds now, given the version a notice announced (None for a
# check without one); True if that was a version this gateway lacked.
OnChange = Callable[[int | None], Awaitable[bool]]
OnLost = Callable[[str], None]


class Store(abc.ABC):
    # What `GET /v1/status` calls it.
    kind: str = "store"
    # Several gateways write it: each follows the others' changes, and bundles travel in it.
    shared: bool = False
    # The Redis a shared store keeps its keys in, for triggers that share it (cron).
    shared_redis: SharedRedis | None = None

    @abc.abstractmethod
    async def load(self) -> StoredState:
        """The whole state at one version."""

    @abc.abstractmethod
    async def write(self, changes: Changes, *, base: StoredState, by: str = "") -> None:
        """Apply every change or none of them, onto `base`, which must be the stored
        version (else StoreChanged); `by` is the command, for shared stores' notes.
        Changes that hold nothing write nothing, the version included."""

    async def version(self) -> int:
        """The stored version; shared stores ask their server."""
        return (await self.load()).version

    async def bundle(self, digest: str) -> bytes | None:
        """The packed bundle of a digest, for stores that hold bundles; None otherwise."""
        return None

    async def restore(self, state: StoredState, *, bundles: Mapping[str, bytes]) -> bool:
        """Write `state` whole, at its own version, with the bundles of its revisions, if
        the store holds an older version (a shared store that came back empty); True if
        it did. Only shared stores can lose what a gateway still serves."""
        raise NotImplementedError(f"the {self.kind} store has no other writer to lose data to")

    async def follow(self, on_change: OnChange, on_lost: OnLost) -> None:
        """Until cancelled: call `on_change` whenever another gateway may have changed the
        store (a notice, a reconnect, a periodic check), and `on_lost` with the reason
        when the connection to it breaks. A store nothing else writes returns at once."""
        return None

    async def close(self) -> None:
        return None


def check_base(stored: int, base: StoredState, notes: Iterable[ChangeNote] = ()) -> None:
    """Refuse a write planned on another version than the stored one, naming (from
    `notes`, where a store keeps them) the versions that came first."""
    if base.version != stored:
        came = tuple(n for n in notes if n.version > base.version)
        raise StoreChanged(base=base.version, found=stored, notes=came)
