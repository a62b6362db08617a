"""The control plane: publish revisions, set aliases, apply files; all or nothing.

Every mutation follows one path (`_commit`): merge the changes into a candidate state,
derive its snapshot (which validates routes and aliases), warm every revision the
candidate can send traffic to, write the changes in one store transaction, then swap
the snapshot. A failure at any step leaves the stored state and the traffic untouched.

On a shared store other gateways write too. A mutation first takes any newer version
(`_catch_up`), and its write names the version it was planned on, so a change stored
elsewhere meanwhile refuses it (ConcurrentChange) instead of being overwritten. Changes
made elsewhere arrive through `resync`, which warms what they route to before swapping
(`_adopt`, the same path a start takes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from gateway import bundles, dependencies, migration, retention
from gateway.config import FunctionConfig, GaiaFile, Trigger
from gateway.errors import (
    ConcurrentChange,
    Conflict,
    InvalidInput,
    NotFound,
    PublishFailed,
    StoreDown,
)
from gateway.snapshot import Snapshot, SpecCache, build_snapshot
from gateway.store import (
    AliasChange,
    AliasRecord,
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
from legacy.config import LegacyConfig
from legacy.ledger import LedgerChange, LedgerEntry, NothingObserved
from legacy.ports import Observations
from routing.errors import RoutingError
from routing.names import DEFAULT_ALIAS
from routing.traffic import LATEST, AliasSpec
from runtime_adapters.base import RevisionKey, RevisionSpec, Runtime, WarmupError
from triggers import registry as trigger_kinds

log = logging.getLogger("gaia.control")

StageDone = Callable[[str, float], None]
"""Told of each stage of a commit as it ends (its name and milliseconds), so that a
caller can show a slow publish's progress while the rest still runs."""


@dataclass(frozen=True, kw_only=True)
class FunctionPlan:
    """What applying one function changes."""

    function: str
    revision: int
    digest: str
    created_revision: bool
    created_function: bool
    aliases: Mapping[str, tuple[AliasSpec | None, AliasSpec]] = field(default_factory=dict)
    triggers_added: tuple[str, ...] = ()
    triggers_removed: tuple[str, ...] = ()
    # Milliseconds per stage of the commit that landed it (store, warm, ready).
    timings_ms: Mapping[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        return {
            "function": self.function,
            "revision": self.revision,
            "digest": self.digest,
            "created_revision": self.created_revision,
            "created_function": self.created_function,
            "aliases": {
                name: {"from": old.to_dict() if old else None, "to": new.to_dict()}
                for name, (old, new) in self.aliases.items()
            },
            "triggers_added": list(self.triggers_added),
            "triggers_removed": list(self.triggers_removed),
            "timings_ms": dict(self.timings_ms),
        }


@dataclass(frozen=True, kw_only=True)
class _Plan:
    changes: Changes
    functions: tuple[FunctionPlan, ...]
    code_dirs: Mapping[str, Path | None]  # None: a runtime that runs no code here
    # The command that asked for the change, as alias history records it.
    by: str
    # Where a ledger route no request could reach is reported: the applied file's route,
    # else this key.
    file: GaiaFile | None = None
    ledger_field: str = "triggers"


@dataclass(frozen=True, kw_only=True)
class LedgerPlanView:
    """What applying a file's `legacy:` section changes in the ledger (paths)."""

    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @classmethod
    def of(cls, changes: Changes) -> LedgerPlanView:
        return cls(
            **{
                action: tuple(c.path for c in changes.ledger_history if c.action == action)
                for action in ("added", "changed", "removed")
            }
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "added": list(self.added),
            "changed": list(self.changed),
            "removed": list(self.removed),
        }


@dataclass(frozen=True, kw_only=True)
class ApplyResult:
    functions: list[FunctionPlan]
    # None: the file has no `legacy:` section, and the ledger was left alone.
    ledger: LedgerPlanView | None


class NotAdopted(Exception):
    """A version from the shared store routes to a revision that would not warm here;
    this gateway keeps serving the one before and tries again at the next check."""


class ControlPlane:
    def __init__(
        self,
        *,
        store: Store,
        bundles_root: Path,
        runtimes: Mapping[str, Runtime],
        keep_revisions: int = 10,
        observations: Observations | None = None,
    ) -> None:
        self._keep_revisions = keep_revisions
        self._store = store
        self._bundles = bundles.BundleStore(bundles_root)
        self._deps = dependencies.DependencyCache(bundles_root.parent / "deps")
        self._runtimes = runtimes
        self._state = StoredState()
        self._unusable: frozenset[RevisionKey] = frozenset()
        self._specs: SpecCache = {}
        self._lock = asyncio.Lock()
        self._warming: dict[RevisionKey, asyncio.Task[None]] = {}
        self._listeners: list[Callable[[StoredState], Awaitable[None]]] = []
        self._legacy_listeners: list[Callable[[LegacyConfig | None], Awaitable[None]]] = []
        self._observations: Observations = observations or NothingObserved()
        self.snapshot = Snapshot()

    def add_listener(self, listener: Callable[[StoredState], Awaitable[None]]) -> None:
        """Call `listener` with the new state after every committed change."""
        self._listeners.append(listener)

    def add_legacy_listener(
        self, listener: Callable[[LegacyConfig | None], Awaitable[None]]
    ) -> None:
        """Call `listener` with `legacy` after every committed change that altered it (the
        upstream settings or a ledger route); at start, read `legacy` instead."""
        self._legacy_listeners.append(listener)

    def use_observations(self, observations: Observations) -> None:
        """What the gates and `gaia migrate status` read: the router's, once it runs."""
        self._observations = observations

    # -- reading ---------------------------------------------------------------------

    @property
    def state(self) -> StoredState:
        return self._state

    def function(self, name: str) -> FunctionRecord:
        for record in self._state.functions:
            if record.name == name:
                return record
        raise NotFound(f"function {name!r} does not exist", field="function")

    def revisions(self, function: str) -> list[RevisionRecord]:
        self.function(function)
        return [r for r in self._state.revisions if r.function == function]

    def revision_code(self, function: str, number: int) -> bytes:
        """A revision's code as a gzip tarball, as it was published (see BundleStore.code)."""
        for record in self.revisions(function):
            if record.number == number:
                return self._bundles.code(record.digest)
        raise NotFound(f"revision {function}@{number} does not exist", field="revision")

    def alias(self, function: str, name: str) -> AliasRecord:
        self.function(function)
        for record in self._state.aliases:
            if record.function == function and record.name == name:
                return record
        raise NotFound(f"alias {function}:{name} does not exist", field="alias")

    @property
    def observations(self) -> Observations:
        return self._observations

    @property
    def legacy(self) -> LegacyConfig | None:
        """The last applied `legacy:` section, its routes as the ledger has them now."""
        return migration.legacy_of(self._state)

    def ledger_entry(self, path: str) -> LedgerEntry:
        return migration.entry_of(self._state, path)

    def ledger_history(self, path: str) -> list[LedgerChange]:
        """A route's changes, oldest first; also for a route since removed."""
        changes = [c for c in self._state.ledger_history if c.path == path]
        if not changes:
            self.ledger_entry(path)  # NotFound, naming the routes there are
        return changes

    @property
    def runtimes(self) -> Mapping[str, Runtime]:
        return self._runtimes

    def runtime_for(self, spec: RevisionSpec) -> Runtime:
        return self._runtimes[spec.runtime]

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Load the stored state and warm what it routes to.

        A revision that no longer starts (its runtime changed under it, say) is marked
        unusable so that `latest` falls back to the newest one that does.
        """
        async with self._lock:
            await self._adopt(await self._store.load(), at_start=True)

    @property
    def store(self) -> Store:
        return self._store

    async def resync(self, noticed: int | None = None) -> bool:
        """Take the store's newest version if this gateway lacks it; True if it did.
        `noticed`: the version a notice announced (then the store is not asked first).
        Raises StoreUnavailable, and NotAdopted when a revision it routes to fails to
        warm here."""
        if noticed is None:
            if await self._store.version() == self._state.version:
                return False
        elif noticed <= self._state.version:
            return False  # taken already, by this gateway's own write or a later notice
        async with self._lock:
            return await self._catch_up(check=noticed is None)

    async def _catch_up(self, *, check: bool = True) -> bool:
        """Take the store's newest version, or give it back this gateway's if the store
        lost versions; `check=False` when the store is known to be ahead."""
        if check and await self._store.version() == self._state.version:
            return False
        for _ in range(3):
            state = await self._store.load()
            if state.version == self._state.version:
                return False
            if state.version > self._state.version:
                await self._adopt(state)
                return True
            # The store holds less than this gateway serves: Redis came back without its
            # data. Put back what this gateway has rather than forget it everywhere; a
            # gateway that has more does the same after, and everyone follows the newest.
            digests = {r.digest for r in self._state.revisions}
            packed = {
                digest: await self._packed(digest)
                for digest in sorted(digests)
                if self._bundles.path(digest).is_dir()
            }
            if await self._store.restore(self._state, bundles=packed):
                log.warning(
                    "the shared store was at version %d, behind this gateway's %d: "
                    "restored this gateway's config into it",
                    state.version,
                    self._state.version,
                )
                return False
        return False

    async def _adopt(self, state: StoredState, *, at_start: bool = False) -> None:
        """Serve `state`: fetch its bundles, warm what it routes to, then swap.

        A revision `latest` resolves to that fails to warm is marked unusable, so that
        `latest` means the newest one that warmed. One the traffic names by number keeps
        the old version serving (NotAdopted), except at start, where there is none.
        """
        before, before_state = self.snapshot, self._state
        legacy_before = self.legacy
        await self._fetch_bundles(state)
        while True:
            snapshot = build_snapshot(
                state,
                bundles_root=self._bundles.root,
                unusable=self._unusable,
                specs=self._specs,
            )
            failures = await self._warm_all(snapshot, snapshot.referenced())
            if not failures.keys() - self._unusable:
                break
            for key, error in failures.items():
                log.error("revision %s failed to warm: %s", key, error.message)
            self._unusable = self._unusable | failures.keys()
        if failures and not at_start:
            failed = ", ".join(sorted(str(key) for key in failures))
            raise NotAdopted(
                f"version {state.version} routes to {failed}, which would not warm here"
            )
        self._state, self.snapshot = state, snapshot
        gone = set(before.revisions) - set(snapshot.revisions)
        await self._retire((before.referenced() | gone) - snapshot.referenced(), before)
        for digest in {r.digest for r in before_state.revisions} - {
            r.digest for r in state.revisions
        }:
            self._bundles.remove(digest)
        if at_start:
            return
        log.info("took version %d of the shared store", state.version)
        await self._notify()
        if self.legacy != legacy_before:
            await self._notify_legacy()

    async def _fetch_bundles(self, state: StoredState) -> None:
        """Bring every revision's bundle here, so that any of them can warm."""
        if not self._store.shared:
            return
        for digest in sorted({r.digest for r in state.revisions}):
            if self._bundles.path(digest).is_dir():
                continue
            data = await self._store.bundle(digest)
            if data is None:
                log.error("the shared store has no bundle %s: its revisions cannot warm", digest)
                continue
            try:
                await asyncio.to_thread(self._bundles.put_archive, digest, data)
            except InvalidInput as exc:
                log.error("bundle %s from the shared store is unusable: %s", digest, exc)

    async def _packed(self, digest: str) -> bytes:
        return await asyncio.to_thread(bundles.archive, self._bundles.path(digest))

    @contextlib.asynccontextmanager
    async def _writing(self) -> AsyncIterator[None]:
        """Hold the lock for a mutation, planned on the store's newest version."""
        async with self._lock:
            if self._store.shared:
                try:
                    await self._catch_up()
                except StoreUnavailable as exc:
                    raise self._down(exc) from exc
                except NotAdopted as exc:
                    raise StoreDown(
                        f"nothing changed: this gateway cannot take the shared store's "
                        f"newest version ({exc}); change it from a gateway that has"
                    ) from exc
            yield

    def _down(self, exc: StoreUnavailable) -> StoreDown:
        if exc.outcome_unknown:
            outcome = (
                "the connection broke while the change was being committed, so it may "
                "have been stored: GET /v1/status shows the version once the store is back"
            )
        else:
            outcome = "nothing changed"
        return StoreDown(
            f"{outcome}: {exc}; every gateway keeps serving the config it has "
            f"(this one version {self._state.version})"
        )

    async def ensure_warm(self, key: RevisionKey) -> RevisionSpec:
        """Warm a revision invoked directly (`fn@N`) that no alias keeps warm."""
        spec = self.snapshot.revisions.get(key)
        if spec is None:
            raise NotFound(f"revision {key} does not exist", field="revision")
        task = self._warming.get(key)
        if task is None:
            task = asyncio.ensure_future(self.runtime_for(spec).warm(spec))
            self._warming[key] = task
            task.add_done_callback(lambda _: self._warming.pop(key, None))
        await asyncio.shield(task)
        return spec

    # -- mutations -------------------------------------------------------------------

    async def publish(
        self,
        function: str,
        *,
        code_dir: Path | None,
        config: FunctionConfig,
        add_triggers: tuple[Trigger, ...] = (),
        dry_run: bool = False,
        on_stage: StageDone | None = None,
    ) -> FunctionPlan:
        """Create revision N+1 from a directory, or find the one with the same digest;
        `add_triggers` join the function's triggers unless it has them already."""
        async with self._writing():
            plan = self._plan_function(
                function,
                config,
                code_dir=code_dir,
                replace_aliases=False,
                replace_triggers=False,
                add_triggers=add_triggers,
            )
            if dry_run:
                self._candidate(plan[1])  # validates without storing or warming
                return plan[0]
            timings = await self._commit(
                _Plan(
                    changes=plan[1],
                    functions=(plan[0],),
                    code_dirs={function: code_dir},
                    by="deploy",
                ),
                on_stage=on_stage,
            )
            return replace(plan[0], timings_ms=timings)

    async def set_alias(
        self, function: str, name: str, spec: AliasSpec, *, by: str = "alias set"
    ) -> AliasRecord:
        async with self._writing():
            return await self._set_alias(function, name, spec, by=by)

    async def rollback(self, function: str, name: str) -> AliasRecord:
        """Restore the traffic the alias had before its last change.

        Like `kubectl rollout undo`, a second rollback undoes the first.
        """
        async with self._writing():
            self.alias(function, name)
            last = next(
                (
                    h
                    for h in reversed(self._state.history)
                    if h.function == function and h.alias == name
                ),
                None,
            )
            if last is None or last.before is None:
                raise InvalidInput(
                    f"{function}:{name} has no earlier traffic to roll back to", field="alias"
                )
            return await self._set_alias(function, name, last.before, by="rollback")

    async def delete_function(self, function: str) -> None:
        """Forget a function with its revisions, aliases, history and triggers; its pools
        drain and stop, and bundles no other revision shares are removed."""
        async with self._writing():
            revisions = self.revisions(function)
            migration.check_unused(self._state, function)
            gone = {r.digest for r in revisions}
            before = self.snapshot
            await self._commit(
                _Plan(
                    changes=Changes(deleted_functions=(function,)),
                    functions=(),
                    code_dirs={},
                    by="delete",
                )
            )
            # The commit retires only what its new snapshot still knows; these are gone.
            await self._retire(
                {RevisionKey(function=function, revision=r.number) for r in revisions}, before
            )
            for digest in gone - {r.digest for r in self._state.revisions}:
                self._bundles.remove(digest)

    async def delete_alias(self, function: str, name: str) -> None:
        """Forget an alias and its history. `default` stays (every function has it), and an
        alias a trigger sends to stays until that trigger goes."""
        async with self._writing():
            self.alias(function, name)
            if name == DEFAULT_ALIAS:
                raise InvalidInput(
                    f"{function}:{DEFAULT_ALIAS} cannot be deleted: every function has it; "
                    f"`gaia alias set {function} latest=100` restores it to latest at 100%, "
                    f"`gaia delete {function}` deletes the function",
                    field="alias",
                )
            users = [
                t.id
                for t in self._state.triggers
                if t.function == function and t.spec.get("alias") == name
            ]
            if users:
                raise Conflict(
                    f"{function}:{name} is the target of trigger {', '.join(users)}: "
                    "point the trigger elsewhere first (gaia apply)",
                    field="alias",
                )
            migration.check_unused(self._state, function, alias=name)
            await self._commit(
                _Plan(
                    changes=Changes(deleted_aliases=((function, name),)),
                    functions=(),
                    code_dirs={},
                    by="alias delete",
                )
            )

    def history(self, function: str, name: str) -> list[AliasChange]:
        self.alias(function, name)
        return [h for h in self._state.history if h.function == function and h.alias == name]

    async def _set_alias(
        self, function: str, name: str, spec: AliasSpec, *, by: str
    ) -> AliasRecord:
        self.function(function)
        known = {r.number for r in self.revisions(function)}
        self._check_revisions(spec, known, path="traffic")
        current = next(
            (a for a in self._state.aliases if a.function == function and a.name == name), None
        )
        if current is not None and current.spec == spec:
            return current  # nothing to change, nothing to record
        record = AliasRecord(function=function, name=name, spec=spec, updated_at=time.time())
        await self._commit(
            _Plan(changes=Changes(aliases=(record,)), functions=(), code_dirs={}, by=by)
        )
        return record

    async def apply(self, file: GaiaFile, *, dry_run: bool = False) -> list[FunctionPlan]:
        return (await self.apply_file(file, dry_run=dry_run)).functions

    async def apply_file(
        self, file: GaiaFile, *, dry_run: bool = False, by: str = "gaia apply"
    ) -> ApplyResult:
        """Make the stored state match the file's functions; others stay as they are.

        A `legacy:` section replaces the ledger with its routes, each promotion judged by
        its gates (no force: see README, "The migration ledger"); `by` is who history
        records. A file without one leaves the ledger as it is.
        """
        async with self._writing():
            return await self._apply_file(file, dry_run=dry_run, by=by)

    async def apply_at_start(
        self, file: GaiaFile, *, digest: str, reapply: bool = False
    ) -> list[FunctionPlan] | None:
        """Apply the file a gateway starts with (`gaia up -f`), whose sha256 with its code
        is `digest`, and remember that digest in the store; unless `reapply`, do nothing
        and answer None when the store's last start-up file had the same digest, so that
        a restart keeps what was changed since through the API. Decided on the store's
        newest version: a replica that lost the race to apply the same file sees it
        applied when it plans again."""
        async with self._writing():
            if self._state.startup_file == digest and not reapply:
                return None
            return (await self._apply_file(file, startup_file=digest)).functions

    async def _apply_file(
        self,
        file: GaiaFile,
        *,
        dry_run: bool = False,
        by: str = "gaia apply",
        startup_file: str | None = None,
    ) -> ApplyResult:
        """`apply_file` under the writing lock; `startup_file`: the digest to remember."""
        plans: list[FunctionPlan] = []
        changes: list[Changes] = []
        for name, config in file.functions.items():
            plan, change = self._plan_function(
                name, config, code_dir=config.code, replace_aliases=True, replace_triggers=True
            )
            plans.append(plan)
            changes.append(change)
        ledger = migration.apply_changes(
            self._state, file, observations=self._observations, by=by, at=time.time()
        )
        changes.append(ledger)
        merged = _merge_changes(changes)
        if startup_file is not None and startup_file != self._state.startup_file:
            merged = replace(merged, startup_file=startup_file)
        view = LedgerPlanView.of(ledger) if file.legacy is not None else None
        if not dry_run:
            await self._commit(
                _Plan(
                    changes=merged,
                    functions=tuple(plans),
                    code_dirs={name: c.code for name, c in file.functions.items()},
                    by="apply",
                    file=file,
                )
            )
        else:
            # Validates routes and aliases without committing.
            self._candidate(merged, file=file)
        return ApplyResult(functions=plans, ledger=view)

    async def add_route(
        self, path: str, *, function: str, methods: tuple[str, ...] | None, by: str
    ) -> LedgerEntry:
        """Put an old route in the ledger, in state `legacy`."""
        async with self._writing():
            changes = migration.add_changes(
                self._state,
                path,
                function=function,
                methods=methods,
                observations=self._observations,
                by=by,
                at=time.time(),
            )
            await self._commit(
                _Plan(
                    changes=changes,
                    functions=(),
                    code_dirs={},
                    by="migrate add",
                    ledger_field="path",
                )
            )
            return self.ledger_entry(path)

    async def set_route(
        self, path: str, *, state: str, percent: float | None, force: bool, by: str
    ) -> LedgerEntry:
        """Move a ledger route to a state; a promotion passes its gates, or `force`."""
        async with self._writing():
            changes = migration.set_changes(
                self._state,
                path,
                to=state,
                percent=percent,
                force=force,
                observations=self._observations,
                by=by,
                at=time.time(),
            )
            if changes:
                await self._commit(
                    _Plan(changes=changes, functions=(), code_dirs={}, by="migrate set")
                )
            return self.ledger_entry(path)

    # -- internals -------------------------------------------------------------------

    def _plan_function(
        self,
        name: str,
        config: FunctionConfig,
        *,
        code_dir: Path | None,
        replace_aliases: bool,
        replace_triggers: bool,
        add_triggers: tuple[Trigger, ...] = (),
    ) -> tuple[FunctionPlan, Changes]:
        prefix = f"functions.{name}"
        revision_config = config.revision_config()
        digest = bundles.digest(code_dir, revision_config)
        existing = [r for r in self._state.revisions if r.function == name]
        created_function = not any(f.name == name for f in self._state.functions)
        same = next((r for r in existing if r.digest == digest), None)
        now = time.time()
        revision = same or RevisionRecord(
            function=name,
            number=max((r.number for r in existing), default=0) + 1,
            digest=digest,
            config=revision_config,
            created_at=now,
        )
        known = {r.number for r in existing} | {revision.number}

        old_aliases = {a.name: a.spec for a in self._state.aliases if a.function == name}
        wanted: dict[str, AliasSpec] = {}
        if replace_aliases:
            wanted = dict(config.aliases)
        if DEFAULT_ALIAS not in old_aliases and DEFAULT_ALIAS not in wanted:
            wanted[DEFAULT_ALIAS] = AliasSpec()
        alias_changes: dict[str, tuple[AliasSpec | None, AliasSpec]] = {}
        for alias_name, spec in wanted.items():
            self._check_revisions(spec, known, path=f"{prefix}.aliases.{alias_name}.traffic")
            if old_aliases.get(alias_name) != spec:
                alias_changes[alias_name] = (old_aliases.get(alias_name), spec)

        triggers: dict[str, tuple[TriggerRecord, ...]] = {}
        added: tuple[str, ...] = ()
        removed: tuple[str, ...] = ()
        if replace_triggers:
            records = tuple(
                _trigger_record(name, index, trigger)
                for index, trigger in enumerate(config.triggers)
            )
            old = {_trigger_identity(t) for t in self._state.triggers if t.function == name}
            new = {_trigger_identity(t) for t in records}
            added, removed = tuple(sorted(new - old)), tuple(sorted(old - new))
            for trigger in records:
                target = trigger.spec.get("alias")
                if isinstance(target, str) and target not in wanted and target not in old_aliases:
                    raise InvalidInput(
                        f"trigger targets alias {name}:{target}, which is not defined",
                        field=f"{prefix}.triggers",
                    )
            # Unchanged triggers are no change: a replica started with the file others
            # already applied writes nothing.
            if records != tuple(t for t in self._state.triggers if t.function == name):
                triggers[name] = records
        elif add_triggers:
            kept = tuple(t for t in self._state.triggers if t.function == name)
            have = {_trigger_identity(t) for t in kept}
            fresh: list[TriggerRecord] = []
            for wanted_trigger in add_triggers:
                record = _trigger_record(name, len(kept) + len(fresh), wanted_trigger)
                if _trigger_identity(record) not in have:
                    have.add(_trigger_identity(record))
                    fresh.append(record)
            added = tuple(_trigger_identity(t) for t in fresh)
            if fresh:
                triggers[name] = kept + tuple(fresh)

        changes = Changes(
            functions=(FunctionRecord(name=name, created_at=now),) if created_function else (),
            revisions=() if same else (revision,),
            aliases=tuple(
                AliasRecord(function=name, name=alias_name, spec=spec, updated_at=now)
                for alias_name, (_, spec) in alias_changes.items()
            ),
            triggers=triggers,
        )
        plan = FunctionPlan(
            function=name,
            revision=revision.number,
            digest=digest,
            created_revision=same is None,
            created_function=created_function,
            aliases=alias_changes,
            triggers_added=added,
            triggers_removed=removed,
        )
        return plan, changes

    @staticmethod
    def _check_revisions(spec: AliasSpec, known: set[int], *, path: str) -> None:
        """`path`: the alias's traffic list; its `fallback` is beside it."""
        for index, target in enumerate(spec.traffic):
            if target.revision != LATEST and target.revision not in known:
                raise InvalidInput(
                    f"revision {target.revision} does not exist: expected one of "
                    f"{sorted(known) or 'none yet'} or 'latest'",
                    field=f"{path}[{index}].revision",
                )
        if spec.fallback is not None and spec.fallback not in known:
            raise InvalidInput(
                f"fallback revision {spec.fallback} does not exist: expected a revision of "
                f"this function, one of {sorted(known) or 'none yet'}",
                field=path.removesuffix("traffic") + "fallback",
            )

    def _candidate(
        self, changes: Changes, *, file: GaiaFile | None = None, ledger_field: str = "triggers"
    ) -> tuple[StoredState, Snapshot]:
        candidate = self._state.merged(changes)
        try:
            snapshot = build_snapshot(
                candidate,
                bundles_root=self._bundles.root,
                unusable=self._unusable,
                specs=self._specs,
            )
        except RoutingError as exc:
            raise InvalidInput(str(exc), field=getattr(exc, "path", None) or "triggers") from exc
        if changes.ledger or changes.triggers:
            migration.check_reachable(
                candidate, snapshot.routes.routes, file=file, field=ledger_field
            )
        return candidate, snapshot

    async def _commit(self, plan: _Plan, *, on_stage: StageDone | None = None) -> dict[str, float]:
        """Store, warm, write, swap; returns each stage's milliseconds, which `on_stage`
        is also told of as each ends."""
        plan = replace(plan, changes=replace(plan.changes, history=self._history_of(plan)))
        candidate, snapshot = self._candidate(
            plan.changes, file=plan.file, ledger_field=plan.ledger_field
        )
        clock = _Stages(on_stage)
        installed: dict[str, Path] = {}
        for revision in plan.changes.revisions:
            requirements = dependencies.requirements_of(plan.code_dirs[revision.function])
            if requirements is not None:
                installed[revision.function], _ = await self._deps.ensure(requirements)
        if installed:
            clock.lap("dependencies")
        for revision in plan.changes.revisions:
            self._bundles.put(
                plan.code_dirs[revision.function],
                revision.digest,
                deps=installed.get(revision.function),
            )
        clock.lap("store")
        new_keys = {
            RevisionKey(function=r.function, revision=r.number) for r in plan.changes.revisions
        }
        referenced = snapshot.referenced()
        # A new revision warms even when nothing routes to it yet: that proves it imports.
        failures = await self._warm_all(snapshot, referenced | new_keys)
        clock.lap("warm")
        previously = self.snapshot.referenced()
        legacy_before = self.legacy
        if failures:
            await self._retire((referenced | new_keys) - previously, snapshot)
            ordered = sorted(failures.items(), key=str)
            detail = "; ".join(
                _failure(key, error.message, new=key in new_keys) for key, error in ordered
            )
            first, error = ordered[0]
            # The setting at fault where the warm-up knows it (a handler that names nothing
            # usable), so that a file's error gives its line; else the code.
            if plan.by == "apply":
                field = f"functions.{first.function}.{error.key or 'code'}"
            else:
                field = f"config.{error.key}" if error.key else "code"
            raise PublishFailed(f"nothing published: {detail}", field=field)
        if plan.changes:
            changes = plan.changes
            if self._store.shared:
                packed = {r.digest: await self._packed(r.digest) for r in changes.revisions}
                changes = replace(changes, bundles=packed)
            try:
                await self._store.write(changes, base=self._state, by=plan.by)
            except StoreConflict as exc:
                await self._retire(new_keys - referenced - previously, snapshot)
                raise Conflict(str(exc)) from exc
            except StoreChanged as exc:
                await self._retire((referenced | new_keys) - previously, snapshot)
                with contextlib.suppress(StoreUnavailable, NotAdopted):
                    await self._catch_up()
                raise ConcurrentChange(
                    f"nothing changed: {exc} while this change was being prepared; this "
                    "gateway has that version now: check it and try again"
                ) from exc
            except StoreUnavailable as exc:
                await self._retire((referenced | new_keys) - previously, snapshot)
                raise self._down(exc) from exc
        self._state = candidate
        self._unusable = self._unusable - new_keys
        self.snapshot = snapshot
        clock.lap("ready")
        await self._retire((previously | new_keys) - referenced, snapshot)
        await self._prune()
        await self._notify()
        if self.legacy != legacy_before:
            await self._notify_legacy()
        return clock.laps

    async def _prune(self) -> None:
        """Forget unreferenced revisions beyond the kept number, and their bundles."""
        doomed = retention.prunable(self._state, self.snapshot, keep=self._keep_revisions)
        if not doomed:
            return
        changes = Changes(deleted_revisions=tuple((r.function, r.number) for r in doomed))
        try:
            await self._store.write(changes, base=self._state, by="retention")
        except (StoreChanged, StoreUnavailable) as exc:
            log.warning("retention: left for the next change (%s)", exc)
            return
        self._state = self._state.merged(changes)
        snapshot = build_snapshot(
            self._state,
            bundles_root=self._bundles.root,
            unusable=self._unusable,
            specs=self._specs,
        )
        old = self.snapshot
        self.snapshot = snapshot
        await self._retire(
            {RevisionKey(function=r.function, revision=r.number) for r in doomed}, old
        )
        in_use = {r.digest for r in self._state.revisions}
        for digest in {r.digest for r in doomed} - in_use:
            self._bundles.remove(digest)
        log.info("retention: removed %s", ", ".join(r.label for r in doomed))

    async def _notify(self) -> None:
        for listener in self._listeners:
            try:
                await listener(self._state)
            except Exception:
                # The change is committed; a listener's failure must not undo or hide it.
                log.exception("a listener failed to take the new state")

    async def _notify_legacy(self) -> None:
        legacy = self.legacy
        for listener in self._legacy_listeners:
            try:
                await listener(legacy)
            except Exception:
                log.exception("a listener failed to take the new legacy settings")

    def _history_of(self, plan: _Plan) -> tuple[AliasChange, ...]:
        current = {(a.function, a.name): a.spec for a in self._state.aliases}
        return tuple(
            AliasChange(
                function=record.function,
                alias=record.name,
                at=record.updated_at,
                before=current.get((record.function, record.name)),
                after=record.spec,
                by=plan.by,
            )
            for record in plan.changes.aliases
        )

    async def _warm_all(
        self, snapshot: Snapshot, keys: Iterable[RevisionKey]
    ) -> dict[RevisionKey, WarmupError]:
        specs = [snapshot.revisions[key] for key in keys if key in snapshot.revisions]
        results = await asyncio.gather(
            *(self.runtime_for(spec).warm(spec) for spec in specs), return_exceptions=True
        )
        failures: dict[RevisionKey, WarmupError] = {}
        for spec, result in zip(specs, results, strict=True):
            if isinstance(result, WarmupError):
                failures[spec.key] = result
            elif isinstance(result, BaseException):
                raise result
        return failures

    async def _retire(self, keys: Iterable[RevisionKey], snapshot: Snapshot) -> None:
        """Stop pools nothing routes to any more; they drain their in-flight work first."""
        for key in keys:
            spec = snapshot.revisions.get(key)
            if spec is not None:
                await self.runtime_for(spec).retire(key)


class _Stages:
    def __init__(self, on_stage: StageDone | None = None) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()
        self._on_stage = on_stage

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.laps[stage] = round((now - self._last) * 1000, 3)
        self._last = now
        if self._on_stage is not None:
            self._on_stage(stage, self.laps[stage])


def _failure(key: RevisionKey, error: str, *, new: bool) -> str:
    """What did not start. A new revision's number was only reserved, never published,
    so it is named by its function: `hello@3` would name a revision nobody can find."""
    reason = error.removeprefix(f"{key}: ")
    return f"{key.function}'s new code did not start: {reason}" if new else f"{key}: {reason}"


def _trigger_record(function: str, index: int, trigger: Trigger) -> TriggerRecord:
    return TriggerRecord(
        id=f"{function}/{trigger.kind}/{index}",
        function=function,
        kind=trigger.kind,
        spec=trigger.to_dict(),
    )


def _trigger_identity(trigger: TriggerRecord) -> str:
    """What tells two triggers apart in a plan: `kafka orders group billing`."""
    kind = trigger_kinds.kind(trigger.kind)
    return kind.identity(trigger.function, kind.parse(trigger.spec))


def _merge_changes(changes: Iterable[Changes]) -> Changes:
    functions: list[FunctionRecord] = []
    revisions: list[RevisionRecord] = []
    aliases: list[AliasRecord] = []
    triggers: dict[str, tuple[TriggerRecord, ...]] = {}
    ledger: list[Changes] = []
    for change in changes:
        functions.extend(change.functions)
        revisions.extend(change.revisions)
        aliases.extend(change.aliases)
        triggers.update(change.triggers)
        if change.legacy is not None or change.ledger_history:
            ledger.append(change)
    # At most one ledger change: the file's `legacy:` section.
    legacy = ledger[0] if ledger else Changes()
    return Changes(
        functions=tuple(functions),
        revisions=tuple(revisions),
        aliases=tuple(aliases),
        triggers=triggers,
        legacy=legacy.legacy,
        ledger=legacy.ledger,
        ledger_removed=legacy.ledger_removed,
        ledger_history=legacy.ledger_history,
    )
