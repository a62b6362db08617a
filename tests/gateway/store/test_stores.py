"""One contract, run against every Store backend: the embedded SQLite store, the
in-memory one, and the shared Redis store (on a real redis-server)."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.store import (
    AliasChange,
    AliasRecord,
    Changes,
    FunctionRecord,
    MemoryStore,
    RevisionRecord,
    SQLiteStore,
    Store,
    StoreChanged,
    StoreConflict,
    StoredState,
    TriggerRecord,
    open_store,
)
from gateway.store.redis import RedisStore
from legacy.config import LegacyConfig, LegacyRouteConfig
from legacy.ledger import EvidenceAt, LedgerChange, LedgerEntry
from routing.traffic import AliasSpec, TrafficTarget, parse_sticky
from tests.brokers.redis import RedisServer


def _revision(number: int, digest: str = "") -> RevisionRecord:
    return RevisionRecord(
        function="hello",
        number=number,
        digest=digest or f"d{number}",
        config={"handler": "main.handler", "pool": {"min": 1}},
        created_at=1.0 + number,
    )


FIRST = Changes(
    functions=(FunctionRecord(name="hello", created_at=1.0),),
    revisions=(_revision(1),),
    aliases=(AliasRecord(function="hello", name="default", spec=AliasSpec(), updated_at=1.0),),
    triggers={
        "hello": (
            TriggerRecord(id="hello/http/0", function="hello", kind="http", spec={"path": "/a"}),
        )
    },
)


class Backends:
    """Stores of one backend for one test: `open` gives another handle on the same store
    (another connection, as another gateway would have), `fresh` a new empty store."""

    def __init__(self, kind: str, tmp_path: Path, redis_url: str) -> None:
        self.kind = kind
        self._tmp_path = tmp_path
        self._redis_url = redis_url
        self._handles: list[Store] = []
        self._stores = 0
        self._memory = self._new_memory()
        self._name = self._new_name()

    def _new_memory(self) -> MemoryStore:
        return MemoryStore(shared=self.kind == "shared-memory")

    def _new_name(self) -> str:
        self._stores += 1
        # Keys of each test apart in the session's redis-server.
        return f"test-{uuid.uuid4().hex[:12]}-{self._stores}"

    def open(self) -> Store:
        handle: Store
        if self.kind.endswith("memory"):
            handle = self._memory
        elif self.kind == "sqlite":
            handle = SQLiteStore(self._tmp_path / f"{self._name}.db")
        else:
            handle = RedisStore(
                f"{self._redis_url}?prefix={self._name}", replica=f"replica-{len(self._handles)}"
            )
        self._handles.append(handle)
        return handle

    def fresh(self) -> Store:
        self._memory, self._name = self._new_memory(), self._new_name()
        return self.open()

    async def __aenter__(self) -> Backends:
        return self

    async def __aexit__(self, *exc: object) -> None:
        for handle in self._handles:
            await handle.close()


@pytest.fixture(params=["memory", "sqlite", "redis"])
async def backends(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[Backends]:
    async with Backends(request.param, tmp_path, redis_server.url) as found:
        yield found


@pytest.fixture(params=["shared-memory", "redis"])
async def shared(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> AsyncIterator[Backends]:
    """The stores several gateways share: they keep bundles and tell of changes."""
    async with Backends(request.param, tmp_path, redis_server.url) as found:
        yield found


@pytest.fixture
def store(backends: Backends) -> Store:
    return backends.open()


async def put(store: Store, changes: Changes, *, by: str = "test") -> StoredState:
    """Write onto whatever the store holds now; the state it leaves."""
    base = await store.load()
    await store.write(changes, base=base, by=by)
    return base.merged(changes)


async def test_written_records_load_back_equal(store: Store) -> None:
    await put(store, FIRST)
    state = await store.load()
    assert state.functions == FIRST.functions
    assert state.revisions == FIRST.revisions
    assert state.aliases == FIRST.aliases
    assert state.triggers == FIRST.triggers["hello"]


async def test_alias_updates_replace_and_triggers_are_replaced_per_function(store: Store) -> None:
    await put(store, FIRST)
    split = AliasSpec(
        traffic=(
            TrafficTarget(revision=1, percent=90.0),
            TrafficTarget(revision="latest", percent=10.0, tag="canary"),
        ),
        sticky=parse_sticky("header:x-user"),
    )
    await put(
        store,
        Changes(
            revisions=(_revision(2),),
            aliases=(AliasRecord(function="hello", name="default", spec=split, updated_at=2.0),),
            triggers={"hello": ()},
        ),
    )
    state = await store.load()
    assert [a.spec for a in state.aliases] == [split]
    assert [r.number for r in state.revisions] == [1, 2]
    assert state.triggers == ()


def _prod(function: str) -> Changes:
    spec = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    return Changes(
        aliases=(AliasRecord(function=function, name="prod", spec=spec, updated_at=2.0),),
        history=(
            AliasChange(function=function, alias="prod", at=2.0, before=None, after=spec, by="t"),
        ),
    )


async def test_a_deleted_alias_goes_with_its_history_and_nothing_else(store: Store) -> None:
    await put(store, FIRST)
    await put(store, _prod("hello"))
    await put(store, Changes(deleted_aliases=(("hello", "prod"),)))
    state = await store.load()
    assert [(a.function, a.name) for a in state.aliases] == [("hello", "default")]
    assert state.history == ()
    assert state.revisions == FIRST.revisions
    assert state.triggers == FIRST.triggers["hello"]


async def test_a_deleted_function_goes_with_everything_it_owns_and_only_that(store: Store) -> None:
    other = Changes(
        functions=(FunctionRecord(name="other", created_at=1.0),),
        revisions=(
            RevisionRecord(function="other", number=1, digest="o1", config={}, created_at=1),
        ),
        triggers={
            "other": (
                TriggerRecord(
                    id="other/http/0", function="other", kind="http", spec={"path": "/o"}
                ),
            )
        },
    )
    await put(store, FIRST)
    await put(store, other)
    await put(store, _prod("hello"))
    await put(store, _prod("other"))
    await put(store, Changes(deleted_functions=("hello",)))
    state = await store.load()
    assert [f.name for f in state.functions] == ["other"]
    assert {r.function for r in state.revisions} == {"other"}
    assert {a.function for a in state.aliases} == {"other"}
    assert {t.function for t in state.triggers} == {"other"}
    assert {h.function for h in state.history} == {"other"}
    # The name is free again: a new function of that name starts from revision 1.
    await put(store, FIRST)
    assert [r.label for r in (await store.load()).revisions if r.function == "hello"] == ["hello@1"]


async def test_a_failing_write_changes_nothing(store: Store) -> None:
    await put(store, FIRST)
    before = await store.load()
    # The new function is written first; the taken revision number then fails the write.
    duplicate = Changes(
        functions=(FunctionRecord(name="other", created_at=3.0),),
        revisions=(_revision(1, digest="other"),),
    )
    with pytest.raises(StoreConflict):
        await put(store, duplicate)
    assert (await store.load()) == before


async def test_sqlite_survives_reopening(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "gaia.db")
    await put(first, FIRST)
    await first.close()
    reopened = open_store(None, home=tmp_path)
    try:
        assert (await reopened.load()).revisions == FIRST.revisions
    finally:
        await reopened.close()


async def test_unknown_store_url_is_refused_with_the_choices() -> None:
    with pytest.raises(
        ValueError, match="expected sqlite:///PATH, redis://HOST:PORT/DB or memory://"
    ):
        open_store("postgres://x", home=Path("."))


# An alias as the previous release stored it: its rules let a tag be any non-empty string
# and a revision be listed twice; today's input rules refuse both.
OLD_STYLE_SPEC = {
    "traffic": [
        {"revision": 1, "percent": 50.0, "tag": "Stable_1"},
        {"revision": 1, "percent": 50.0},
    ],
    "sticky": "header:x user",
}


async def test_sqlite_loads_aliases_stored_under_older_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gaia.db"
    first = SQLiteStore(path)
    await put(first, FIRST)
    await first.close()
    # Written by hand the way the previous release's write() did: sorted, compact JSON.
    stored = json.dumps(OLD_STYLE_SPEC, sort_keys=True, separators=(",", ":"))
    with sqlite3.connect(path) as db:
        db.execute("UPDATE aliases SET spec = ? WHERE function = 'hello'", (stored,))
        db.execute(
            "INSERT INTO alias_history (function, alias, at, before, after, by) "
            "VALUES ('hello', 'default', 2.0, ?, ?, 'alias set')",
            (stored, stored),
        )
    db.close()

    reopened = SQLiteStore(path)
    try:
        with caplog.at_level(logging.WARNING, logger="gaia.store"):
            state = await reopened.load()
    finally:
        await reopened.close()
    expected = AliasSpec.from_dict(OLD_STYLE_SPEC)
    assert [a.spec for a in state.aliases] == [expected]
    assert [(h.before, h.after) for h in state.history] == [(expected, expected)]
    assert state.aliases[0].spec.to_dict() == OLD_STYLE_SPEC
    # Logged once, for the alias that serves; history only records.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "alias hello:default is served as stored" in warnings[0]
    assert "traffic[0].tag: invalid tag name 'Stable_1'" in warnings[0]


# -- the migration ledger ---------------------------------------------------------------

SETTINGS = LegacyConfig.model_validate(
    {
        "upstream": "http://127.0.0.1:9000",
        "upstreams": [{"name": "billing", "url": "http://10.0.0.7:8080", "prefix": "/billing"}],
        "read_timeout": "45s",
        "gates": {"mismatch_rate": 0.02, "min_samples": 50},
    }
)


def _route(path: str, state: str = "shadow", **more: object) -> LegacyRouteConfig:
    return LegacyRouteConfig.model_validate(
        {"path": path, "function": "items:prod", "state": state, **more}
    )


def _entry(route: LegacyRouteConfig, at: float) -> LedgerEntry:
    return LedgerEntry(route=route, since=at, updated_at=at)


ITEMS = _route(
    "/items/{id}",
    methods=["POST", "GET"],
    shadow_unsafe=True,
    compare={"headers": ["etag"], "ignore": ["$.at"]},
)
CANARY = _route("/items/{id}", "canary", percent=12.5, methods=["POST", "GET"])
ORDERS = _route("/orders", "legacy", function=None)
EVIDENCE = EvidenceAt(
    since=5.0,
    samples=140,
    mismatches=5,
    mismatch_rate=5 / 140,
    legacy_requests=300,
    legacy_errors=3,
    legacy_error_rate=0.01,
    legacy_p50_ms=12.5,
    function_requests=0,
    function_errors=0,
    function_error_rate=None,
    function_p50_ms=None,
)


def _change(before: LegacyRouteConfig | None, after: LegacyRouteConfig | None) -> LedgerChange:
    path = (after or before).path  # type: ignore[union-attr]
    action = "added" if before is None else "removed" if after is None else "changed"
    return LedgerChange(
        path=path,
        at=7.0,
        action=action,  # type: ignore[arg-type]
        before=before,
        after=after,
        evidence=EVIDENCE if before else None,
        actor="ada@laptop",
        channel="migrate set",
        gate="mismatch rate 3.6% (5 of 140) over 140 samples is not under 1.0%" if before else None,
        forced=before is not None,
    )


async def test_the_ledger_its_history_and_the_legacy_settings_load_back_equal(store: Store) -> None:
    await put(
        store,
        Changes(
            legacy=SETTINGS,
            ledger=(_entry(ORDERS, 1.0), _entry(ITEMS, 1.0)),
            ledger_history=(_change(None, ORDERS), _change(None, ITEMS)),
        ),
    )
    state = await store.load()
    assert state.legacy == SETTINGS
    # Ordered by path; methods as written, not sorted.
    assert state.ledger == (_entry(ITEMS, 1.0), _entry(ORDERS, 1.0))
    assert state.ledger[0].route.methods == ("POST", "GET")
    assert state.ledger_history == (_change(None, ORDERS), _change(None, ITEMS))


async def test_ledger_writes_replace_remove_and_append_history_and_leave_the_rest(
    store: Store,
) -> None:
    await put(store, Changes(legacy=SETTINGS, ledger=(_entry(ORDERS, 1.0), _entry(ITEMS, 1.0))))
    await put(
        store,
        Changes(
            ledger=(_entry(CANARY, 2.0),),
            ledger_removed=("/orders",),
            ledger_history=(_change(ITEMS, CANARY), _change(ORDERS, None)),
        ),
    )
    state = await store.load()
    assert state.legacy == SETTINGS  # a write without settings leaves them
    assert state.ledger == (_entry(CANARY, 2.0),)
    assert state.ledger_history == (_change(ITEMS, CANARY), _change(ORDERS, None))
    other = SETTINGS.model_copy(update={"upstream": "http://127.0.0.1:9100"})
    await put(store, Changes(legacy=other))
    assert (await store.load()).legacy == other
    assert (await store.load()).ledger == (_entry(CANARY, 2.0),)


async def test_a_failing_write_changes_no_ledger_either(store: Store) -> None:
    await put(store, FIRST)
    before = await store.load()
    with pytest.raises(StoreConflict):
        await put(
            store,
            Changes(
                revisions=(_revision(1, digest="again"),),
                legacy=SETTINGS,
                ledger=(_entry(ITEMS, 1.0),),
                ledger_history=(_change(None, ITEMS),),
            ),
        )
    assert (await store.load()) == before


async def test_sqlite_keeps_the_ledger_across_reopening(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "gaia.db")
    await put(
        first,
        Changes(
            legacy=SETTINGS, ledger=(_entry(ITEMS, 1.0),), ledger_history=(_change(None, ITEMS),)
        ),
    )
    await first.close()
    reopened = SQLiteStore(tmp_path / "gaia.db")
    try:
        state = await reopened.load()
        assert (state.legacy, state.ledger, state.ledger_history) == (
            SETTINGS,
            (_entry(ITEMS, 1.0),),
            (_change(None, ITEMS),),
        )
    finally:
        await reopened.close()


# -- versions, and gateways writing at once ---------------------------------------------


async def test_the_start_up_files_digest_loads_back_and_is_replaced(backends: Backends) -> None:
    store = backends.open()
    assert (await store.load()).startup_file is None
    await put(store, replace(FIRST, startup_file="a" * 64))
    await put(store, _prod("hello"))  # other changes leave it as it is
    assert (await backends.open().load()).startup_file == "a" * 64
    # Alone it is a change too, of one version.
    state = await put(store, Changes(startup_file="b" * 64))
    assert (state.startup_file, state.version) == ("b" * 64, 3)
    assert await backends.open().load() == state


async def test_each_write_moves_the_version_by_one(store: Store) -> None:
    assert (await store.load()).version == 0 == await store.version()
    await put(store, FIRST)
    await put(store, _prod("hello"))
    assert (await store.load()).version == 2 == await store.version()


async def test_a_write_planned_on_an_older_version_is_refused_and_changes_nothing(
    backends: Backends,
) -> None:
    first, second = backends.open(), backends.open()
    await put(first, FIRST)
    stale = await second.load()
    await put(first, _prod("hello"), by="alias set")
    before = await first.load()
    other = Changes(functions=(FunctionRecord(name="other", created_at=3.0),))
    with pytest.raises(StoreChanged) as refused:
        await second.write(other, base=stale, by="deploy")
    assert (refused.value.base, refused.value.found) == (1, 2)
    assert await second.load() == before


async def test_two_writers_racing_on_one_version_one_lands_whole(backends: Backends) -> None:
    first, second = backends.open(), backends.open()
    await put(first, FIRST)
    base = await first.load()
    staging = AliasRecord(function="hello", name="staging", spec=AliasSpec(), updated_at=3.0)
    outcomes = await asyncio.gather(
        first.write(_prod("hello"), base=base, by="one"),
        second.write(Changes(aliases=(staging,), revisions=(_revision(2),)), base=base),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "StoreChanged"]
    state = await second.load()
    assert state.version == 2
    won = outcomes.index(None)
    names = sorted(a.name for a in state.aliases)
    # The loser's alias and revision are both absent: nothing of it landed.
    assert names == (["default", "prod"] if won == 0 else ["default", "staging"])
    assert [r.number for r in state.revisions] == ([1] if won == 0 else [1, 2])


async def test_functions_and_aliases_load_in_creation_order_and_keep_their_place(
    store: Store,
) -> None:
    def alias(function: str, name: str, at: float) -> AliasRecord:
        return AliasRecord(function=function, name=name, spec=AliasSpec(), updated_at=at)

    split = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    await put(
        store,
        Changes(
            functions=(
                FunctionRecord(name="zeta", created_at=1.0),
                FunctionRecord(name="alpha", created_at=1.0),
            ),
            aliases=(alias("zeta", "default", 1), alias("alpha", "default", 1)),
        ),
    )
    await put(store, Changes(aliases=(alias("zeta", "prod", 2), alias("alpha", "canary", 2))))
    updated = AliasRecord(function="zeta", name="default", spec=split, updated_at=3.0)
    await put(store, Changes(aliases=(updated,)))
    state = await store.load()
    assert [f.name for f in state.functions] == ["zeta", "alpha"]
    assert [(a.function, a.name) for a in state.aliases] == [
        ("zeta", "default"),
        ("alpha", "default"),
        ("zeta", "prod"),
        ("alpha", "canary"),
    ]
    assert state.aliases[0] == updated


# -- what only shared stores do ---------------------------------------------------------


async def test_a_refused_write_names_the_versions_that_came_first(shared: Backends) -> None:
    first, second = shared.open(), shared.open()
    stale = await put(first, FIRST, by="deploy")
    await put(first, _prod("hello"), by="alias set")
    with pytest.raises(StoreChanged) as refused:
        await second.write(_prod("hello"), base=stale, by="alias set")
    [note] = refused.value.notes
    assert (note.version, note.by, note.summary) == (2, "alias set", "alias hello:prod")
    assert "version 2, alias set on " in str(refused.value)
    assert str(refused.value).startswith("the stored config moved from version 1 to 2")


async def test_bundles_travel_with_their_revisions_and_leave_with_them(shared: Backends) -> None:
    first, second = shared.open(), shared.open()
    await put(first, replace(FIRST, bundles={"d1": b"code of one"}))
    assert await second.bundle("d1") == b"code of one"
    assert await second.bundle("d9") is None
    await put(first, Changes(revisions=(_revision(2),), bundles={"d2": b"code of two"}))
    await put(first, Changes(deleted_revisions=(("hello", 1),)))
    assert await second.bundle("d1") is None
    assert await second.bundle("d2") == b"code of two"


async def test_a_store_that_lost_its_data_takes_a_gateways_state_back(shared: Backends) -> None:
    source = shared.open()
    await put(source, replace(FIRST, bundles={"d1": b"code of one"}, startup_file="c" * 64))
    state = await put(source, _prod("hello"))
    empty = shared.fresh()
    assert await empty.restore(state, bundles={"d1": b"code of one"})
    assert await empty.load() == state
    assert await empty.bundle("d1") == b"code of one"
    # Only ever forwards: a store at that version or past it keeps what it has.
    older = replace(await source.load(), version=1)
    assert not await empty.restore(older, bundles={})
    assert not await empty.restore(state, bundles={})
    assert await empty.load() == state
    # And it goes on from there.
    await empty.write(_prod("again"), base=state)
    assert await empty.version() == 3


async def test_a_follower_hears_of_a_write_through_another_handle_at_once(
    shared: Backends,
) -> None:
    writer, reader = shared.open(), shared.open()
    seen: list[tuple[int | None, int]] = []
    heard = asyncio.Event()

    async def on_change(noticed: int | None) -> bool:
        seen.append((noticed, await reader.version()))
        heard.set()
        return False

    following = asyncio.create_task(reader.follow(on_change, lambda reason: None))
    try:
        await asyncio.wait_for(heard.wait(), 5)  # once on subscribing
        heard.clear()
        await put(writer, FIRST)
        # Well within the periodic check (1 s): the notice brought it, and named it.
        await asyncio.wait_for(heard.wait(), 0.5)
        assert seen[-1] == (1, 1)
    finally:
        following.cancel()


async def test_a_write_of_nothing_changes_nothing_not_even_the_version(store: Store) -> None:
    state = await put(store, FIRST)
    await store.write(Changes(), base=state)
    assert await store.load() == state
    assert await store.version() == 1


async def test_a_reader_sees_histories_grow_and_shrink_through_another_handle(
    backends: Backends,
) -> None:
    writer, reader = backends.open(), backends.open()
    await put(writer, FIRST)
    others = tuple(FunctionRecord(name=n, created_at=2.0) for n in ("other", "third"))
    await put(writer, Changes(functions=others))
    await put(writer, _prod("hello"))
    assert len((await reader.load()).history) == 1
    await put(writer, _prod("other"))
    assert [h.function for h in (await reader.load()).history] == ["hello", "other"]
    await put(writer, Changes(deleted_aliases=(("hello", "prod"),)))
    await put(writer, _prod("third"))
    assert [h.function for h in (await reader.load()).history] == ["other", "third"]
    assert await reader.load() == await writer.load()


async def test_a_write_of_thousands_of_records_lands_whole(store: Store) -> None:
    state = await put(store, FIRST)
    spec = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    many = Changes(
        aliases=tuple(
            AliasRecord(function="hello", name=f"a{n}", spec=spec, updated_at=2.0)
            for n in range(1500)
        ),
        history=tuple(
            AliasChange(function="hello", alias=f"a{n}", at=2.0, before=None, after=spec, by="t")
            for n in range(2500)
        ),
    )
    await store.write(many, base=state)
    loaded = await store.load()
    assert loaded == state.merged(many)
    assert [a.name for a in loaded.aliases[1:4]] == ["a0", "a1", "a2"]
