"""One contract, run against every Store backend."""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator
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
    StoreConflict,
    TriggerRecord,
    open_store,
)
from legacy.config import LegacyConfig, LegacyRouteConfig
from legacy.ledger import EvidenceAt, LedgerChange, LedgerEntry
from routing.traffic import AliasSpec, TrafficTarget, parse_sticky


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


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    yield backend
    backend.close()


def test_written_records_load_back_equal(store: Store) -> None:
    store.write(FIRST)
    state = store.load()
    assert state.functions == FIRST.functions
    assert state.revisions == FIRST.revisions
    assert state.aliases == FIRST.aliases
    assert state.triggers == FIRST.triggers["hello"]


def test_alias_updates_replace_and_triggers_are_replaced_per_function(store: Store) -> None:
    store.write(FIRST)
    split = AliasSpec(
        traffic=(
            TrafficTarget(revision=1, percent=90.0),
            TrafficTarget(revision="latest", percent=10.0, tag="canary"),
        ),
        sticky=parse_sticky("header:x-user"),
    )
    store.write(
        Changes(
            revisions=(_revision(2),),
            aliases=(AliasRecord(function="hello", name="default", spec=split, updated_at=2.0),),
            triggers={"hello": ()},
        )
    )
    state = store.load()
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


def test_a_deleted_alias_goes_with_its_history_and_nothing_else(store: Store) -> None:
    store.write(FIRST)
    store.write(_prod("hello"))
    store.write(Changes(deleted_aliases=(("hello", "prod"),)))
    state = store.load()
    assert [(a.function, a.name) for a in state.aliases] == [("hello", "default")]
    assert state.history == ()
    assert state.revisions == FIRST.revisions
    assert state.triggers == FIRST.triggers["hello"]


def test_a_deleted_function_goes_with_everything_it_owns_and_only_that(store: Store) -> None:
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
    store.write(FIRST)
    store.write(other)
    store.write(_prod("hello"))
    store.write(_prod("other"))
    store.write(Changes(deleted_functions=("hello",)))
    state = store.load()
    assert [f.name for f in state.functions] == ["other"]
    assert {r.function for r in state.revisions} == {"other"}
    assert {a.function for a in state.aliases} == {"other"}
    assert {t.function for t in state.triggers} == {"other"}
    assert {h.function for h in state.history} == {"other"}
    # The name is free again: a new function of that name starts from revision 1.
    store.write(FIRST)
    assert [r.label for r in store.load().revisions if r.function == "hello"] == ["hello@1"]


def test_a_failing_write_changes_nothing(store: Store) -> None:
    store.write(FIRST)
    before = store.load()
    # The new function is written first; the taken revision number then fails the write.
    duplicate = Changes(
        functions=(FunctionRecord(name="other", created_at=3.0),),
        revisions=(_revision(1, digest="other"),),
    )
    with pytest.raises(StoreConflict):
        store.write(duplicate)
    assert store.load() == before


def test_sqlite_survives_reopening(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "gaia.db")
    first.write(FIRST)
    first.close()
    reopened = open_store(None, home=tmp_path)
    try:
        assert reopened.load().revisions == FIRST.revisions
    finally:
        reopened.close()


def test_unknown_store_url_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="expected sqlite:///PATH or memory://"):
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


def test_sqlite_loads_aliases_stored_under_older_rules(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gaia.db"
    first = SQLiteStore(path)
    first.write(FIRST)
    first.close()
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
            state = reopened.load()
    finally:
        reopened.close()
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


def test_the_ledger_its_history_and_the_legacy_settings_load_back_equal(store: Store) -> None:
    store.write(
        Changes(
            legacy=SETTINGS,
            ledger=(_entry(ORDERS, 1.0), _entry(ITEMS, 1.0)),
            ledger_history=(_change(None, ORDERS), _change(None, ITEMS)),
        )
    )
    state = store.load()
    assert state.legacy == SETTINGS
    # Ordered by path; methods as written, not sorted.
    assert state.ledger == (_entry(ITEMS, 1.0), _entry(ORDERS, 1.0))
    assert state.ledger[0].route.methods == ("POST", "GET")
    assert state.ledger_history == (_change(None, ORDERS), _change(None, ITEMS))


def test_ledger_writes_replace_remove_and_append_history_and_leave_the_rest(store: Store) -> None:
    store.write(Changes(legacy=SETTINGS, ledger=(_entry(ORDERS, 1.0), _entry(ITEMS, 1.0))))
    store.write(
        Changes(
            ledger=(_entry(CANARY, 2.0),),
            ledger_removed=("/orders",),
            ledger_history=(_change(ITEMS, CANARY), _change(ORDERS, None)),
        )
    )
    state = store.load()
    assert state.legacy == SETTINGS  # a write without settings leaves them
    assert state.ledger == (_entry(CANARY, 2.0),)
    assert state.ledger_history == (_change(ITEMS, CANARY), _change(ORDERS, None))
    other = SETTINGS.model_copy(update={"upstream": "http://127.0.0.1:9100"})
    store.write(Changes(legacy=other))
    assert store.load().legacy == other
    assert store.load().ledger == (_entry(CANARY, 2.0),)


def test_a_failing_write_changes_no_ledger_either(store: Store) -> None:
    store.write(FIRST)
    before = store.load()
    with pytest.raises(StoreConflict):
        store.write(
            Changes(
                revisions=(_revision(1, digest="again"),),
                legacy=SETTINGS,
                ledger=(_entry(ITEMS, 1.0),),
                ledger_history=(_change(None, ITEMS),),
            )
        )
    assert store.load() == before


def test_sqlite_keeps_the_ledger_across_reopening(tmp_path: Path) -> None:
    first = SQLiteStore(tmp_path / "gaia.db")
    first.write(
        Changes(
            legacy=SETTINGS, ledger=(_entry(ITEMS, 1.0),), ledger_history=(_change(None, ITEMS),)
        )
    )
    first.close()
    reopened = SQLiteStore(tmp_path / "gaia.db")
    try:
        state = reopened.load()
        assert (state.legacy, state.ledger, state.ledger_history) == (
            SETTINGS,
            (_entry(ITEMS, 1.0),),
            (_change(None, ITEMS),),
        )
    finally:
        reopened.close()
