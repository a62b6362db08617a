"""The control plane over the in-memory store and runtime: atomic changes, warm first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import FunctionConfig, GaiaFile
from gateway.control import ControlPlane
from gateway.errors import Conflict, InvalidInput, PublishFailed
from gateway.store import MemoryStore
from routing.traffic import AliasSpec, TrafficTarget
from runtime_adapters.base import RevisionKey
from runtime_adapters.memory import MemoryRuntime

Parse = Callable[..., GaiaFile]

ONE = """
functions:
  hello:
    code: ./hello
    triggers:
      - http: {path: /hello}
"""


def _function(parse: Parse, source: str = "v1", handler: str = "main.handler") -> FunctionConfig:
    text = ONE + f"    handler: {handler}\n"
    return parse(text, code={"hello": source}).functions["hello"]


async def test_publishing_numbers_revisions_and_skips_identical_digests(
    control: ControlPlane, gaia_file: Parse, tmp_path: Path
) -> None:
    config = _function(gaia_file)
    first = await control.publish("hello", code_dir=config.code, config=config)
    assert (first.revision, first.created_revision, first.created_function) == (1, True, True)
    same = await control.publish("hello", code_dir=config.code, config=config)
    assert (same.revision, same.created_revision) == (1, False)
    (tmp_path / "hello" / "main.py").write_text("v2")
    second = await control.publish("hello", code_dir=config.code, config=config)
    assert second.revision == 2
    # `default` is `latest` 100%: it follows the new revision as soon as it is warm.
    assert control.snapshot.aliases[("hello", "default")].choose() == 2
    assert [r.number for r in control.revisions("hello")] == [1, 2]


async def test_a_revision_that_fails_to_warm_changes_nothing(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse
) -> None:
    config = _function(gaia_file, handler="missing.handler")
    with pytest.raises(PublishFailed, match=r"missing\.handler"):
        await control.publish("hello", code_dir=config.code, config=config)
    assert (await store.load()).functions == ()
    assert control.snapshot.aliases == {}


async def test_alias_changes_validate_revisions_warm_targets_and_retire_the_rest(
    control: ControlPlane, runtime: MemoryRuntime, gaia_file: Parse, tmp_path: Path
) -> None:
    config = _function(gaia_file)
    await control.publish("hello", code_dir=config.code, config=config)
    (tmp_path / "hello" / "main.py").write_text("v2")
    await control.publish("hello", code_dir=config.code, config=config)
    assert RevisionKey(function="hello", revision=1) in runtime.retired

    before = control.state
    with pytest.raises(InvalidInput) as refused:
        await control.set_alias(
            "hello", "prod", AliasSpec(traffic=(TrafficTarget(revision=7, percent=100.0),))
        )
    assert refused.value.field == "traffic[0].revision"
    assert control.state == before

    split = AliasSpec(
        traffic=(
            TrafficTarget(revision=1, percent=50.0),
            TrafficTarget(revision=2, percent=50.0),
        )
    )
    await control.set_alias("hello", "prod", split)
    assert {RevisionKey(function="hello", revision=n) for n in (1, 2)} <= set(runtime.pools)
    seen = {control.snapshot.aliases[("hello", "prod")].choose(rand=r) for r in (0.1, 0.9)}
    assert seen == {1, 2}


async def test_apply_is_all_or_nothing(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse
) -> None:
    two = """
functions:
  good:
    code: ./good
    triggers: [{http: {path: /good}}]
  bad:
    code: ./bad
    handler: broken.handler
    triggers: [{http: {path: /bad}}]
"""
    with pytest.raises(PublishFailed, match="bad's new code did not start"):
        await control.apply(gaia_file(two, code={"good": "g", "bad": "b"}))
    assert (await store.load()).functions == ()
    assert control.snapshot.routes.routes == ()

    clash = """
functions:
  good:
    code: ./good
    triggers: [{http: {path: /same}}, {http: {path: /same}}]
"""
    with pytest.raises(InvalidInput, match="/same"):
        await control.apply(gaia_file(clash, code={"good": "g"}))
    assert (await store.load()).functions == ()


async def test_dry_run_plans_without_changing_anything(
    control: ControlPlane, store: MemoryStore, runtime: MemoryRuntime, gaia_file: Parse
) -> None:
    plans = await control.apply(gaia_file(ONE, code={"hello": "v1"}), dry_run=True)
    assert [(p.function, p.revision, p.created_revision) for p in plans] == [("hello", 1, True)]
    assert plans[0].triggers_added == ("http * /hello",)
    assert (await store.load()).functions == ()
    assert runtime.pools == {}


async def test_a_restart_restores_the_snapshot_and_warms_what_it_routes_to(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse, tmp_path: Path
) -> None:
    await control.apply(gaia_file(ONE, code={"hello": "v1"}))
    runtime = MemoryRuntime({"main.handler": lambda invocation, spec: "ok"})
    restarted = ControlPlane(
        store=store, bundles_root=tmp_path / "bundles", runtimes={"python": runtime}
    )
    await restarted.start()
    assert restarted.snapshot.latest == control.snapshot.latest == {"hello": 1}
    assert [str(r) for r in restarted.snapshot.routes.routes] == [
        str(r) for r in control.snapshot.routes.routes
    ]
    assert set(runtime.pools) == {RevisionKey(function="hello", revision=1)}


async def test_latest_falls_back_when_the_newest_revision_no_longer_warms(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse, tmp_path: Path
) -> None:
    config = _function(gaia_file)
    await control.publish("hello", code_dir=config.code, config=config)
    other = _function(gaia_file, source="v2", handler="other.handler")
    runtime_of_first = control.runtimes["python"]
    assert isinstance(runtime_of_first, MemoryRuntime)
    runtime_of_first.handlers["other.handler"] = lambda invocation, spec: "v2"
    await control.publish("hello", code_dir=other.code, config=other)
    assert control.snapshot.latest["hello"] == 2

    # After a restart revision 2's handler is gone: `latest` means revision 1 again.
    runtime = MemoryRuntime({"main.handler": lambda invocation, spec: "v1"})
    restarted = ControlPlane(
        store=store, bundles_root=tmp_path / "bundles", runtimes={"python": runtime}
    )
    await restarted.start()
    assert restarted.snapshot.latest["hello"] == 1
    assert restarted.snapshot.aliases[("hello", "default")].choose() == 1


async def test_alias_history_records_every_change_and_rollback_restores_the_previous(
    control: ControlPlane, store: MemoryStore, gaia_file: Parse, tmp_path: Path
) -> None:
    config = _function(gaia_file)
    await control.publish("hello", code_dir=config.code, config=config)
    (tmp_path / "hello" / "main.py").write_text("v2")
    await control.publish("hello", code_dir=config.code, config=config)
    pinned = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    split = AliasSpec(
        traffic=(
            TrafficTarget(revision=1, percent=90.0),
            TrafficTarget(revision=2, percent=10.0),
        )
    )
    await control.set_alias("hello", "prod", pinned)
    await control.set_alias("hello", "prod", split)
    await control.set_alias("hello", "prod", split)  # no change: not recorded
    history = control.history("hello", "prod")
    assert [(h.before, h.after, h.by) for h in history] == [
        (None, pinned, "alias set"),
        (pinned, split, "alias set"),
    ]

    restored = await control.rollback("hello", "prod")
    assert restored.spec == pinned
    assert control.snapshot.aliases[("hello", "prod")].choose(rand=0.99) == 1
    assert control.history("hello", "prod")[-1].by == "rollback"
    assert (await store.load()).history == control.state.history

    again = await control.rollback("hello", "prod")  # undoes the rollback
    assert again.spec == split

    await control.set_alias("hello", "fresh", pinned)
    with pytest.raises(InvalidInput, match="no earlier traffic"):
        await control.rollback("hello", "fresh")


async def test_retention_keeps_referenced_revisions_and_the_newest_unreferenced(
    runtime: MemoryRuntime, store: MemoryStore, gaia_file: Parse, tmp_path: Path
) -> None:
    control = ControlPlane(
        store=store,
        bundles_root=tmp_path / "bundles",
        runtimes={"python": runtime},
        keep_revisions=2,
    )
    await control.start()
    config = _function(gaia_file)
    digests = {}
    for number in range(1, 4):
        (tmp_path / "hello" / "main.py").write_text(f"v{number}")
        digests[number] = (
            await control.publish("hello", code_dir=config.code, config=config)
        ).digest
    # prod pins revision 1; a rollback of prod would restore revision 2.
    await control.set_alias(
        "hello", "prod", AliasSpec(traffic=(TrafficTarget(revision=2, percent=100.0),))
    )
    await control.set_alias(
        "hello", "prod", AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    )
    for number in range(4, 9):
        (tmp_path / "hello" / "main.py").write_text(f"v{number}")
        digests[number] = (
            await control.publish("hello", code_dir=config.code, config=config)
        ).digest

    # Referenced: 1 (prod), 2 (prod's rollback), 8 (latest, newest). Unreferenced:
    # 3..7, of which the newest two (6, 7) are kept.
    assert [r.number for r in control.revisions("hello")] == [1, 2, 6, 7, 8]
    assert [r.number for r in (await store.load()).revisions] == [1, 2, 6, 7, 8]
    assert not (tmp_path / "bundles" / digests[3]).exists()
    assert (tmp_path / "bundles" / digests[6]).is_dir()
    # Numbers are never reused after deletions.
    (tmp_path / "hello" / "main.py").write_text("v9")
    assert (await control.publish("hello", code_dir=config.code, config=config)).revision == 9


async def test_publish_adds_triggers_once_and_keeps_the_functions_own(
    control: ControlPlane, gaia_file: Parse
) -> None:
    config = _function(gaia_file)
    await control.apply(GaiaFile(functions={"hello": config}))
    extra = gaia_file(ONE.replace("/hello}", "/extra}"), code={"hello": "v1"})
    route = extra.functions["hello"].triggers
    plan = await control.publish("hello", code_dir=config.code, config=config, add_triggers=route)
    assert plan.triggers_added == ("http * /extra",)
    again = await control.publish(
        "hello", code_dir=config.code, config=config, add_triggers=route * 2
    )
    assert again.triggers_added == ()
    assert [(t.id, t.spec["path"]) for t in control.state.triggers] == [
        ("hello/http/0", "/hello"),
        ("hello/http/1", "/extra"),
    ]


async def test_deleting_a_function_retires_its_pools_and_forgets_all_it_owns(
    control: ControlPlane, runtime: MemoryRuntime, store: MemoryStore, gaia_file: Parse
) -> None:
    config = _function(gaia_file)
    await control.apply(GaiaFile(functions={"hello": config}))
    await control.set_alias(
        "hello", "prod", AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    )
    await control.delete_function("hello")
    assert RevisionKey(function="hello", revision=1) in runtime.retired
    assert (await store.load()) == control.state
    state = control.state
    assert (state.functions, state.revisions, state.triggers, state.history) == ((), (), (), ())
    assert control.snapshot.aliases == {} and not control.snapshot.routes.routes


async def test_deleting_an_alias_refuses_default_and_a_triggers_target(
    control: ControlPlane, gaia_file: Parse
) -> None:
    config = _function(gaia_file)
    await control.apply(GaiaFile(functions={"hello": config}))
    prod = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    await control.set_alias("hello", "prod", prod)
    before = control.state
    with pytest.raises(InvalidInput, match="hello:default cannot be deleted"):
        await control.delete_alias("hello", "default")
    assert control.state == before
    await control.delete_alias("hello", "prod")
    assert [a.name for a in control.state.aliases] == ["default"]
    assert ("hello", "prod") not in control.snapshot.aliases
    targeted = gaia_file(
        ONE.replace("/hello}", "/hello, alias: prod}")
        + "    aliases:\n      prod: {traffic: [{revision: 1, percent: 100}]}\n",
        code={"hello": "v1"},
    )
    await control.apply(targeted)
    with pytest.raises(Conflict, match="is the target of trigger hello/http/0"):
        await control.delete_alias("hello", "prod")
    assert ("hello", "prod") in control.snapshot.aliases
