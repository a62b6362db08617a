"""Two control planes on one shared store, as two replicas on one Redis: each takes the
other's changes (warm first, then route), and a change planned on an older version is
refused. The store here is the in-memory stand-in; tests/integration/test_cluster.py
runs real gateways on a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gateway.cluster import Follower
from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.errors import ConcurrentChange, StoreDown
from gateway.startup_file import apply_at_start
from gateway.store import Changes, MemoryStore, StoredState, StoreUnavailable
from routing.traffic import AliasSpec, TrafficTarget
from runtime_adapters.base import Invocation, RevisionKey, RevisionSpec
from runtime_adapters.memory import MemoryRuntime

Parse = Callable[..., GaiaFile]

FILE = """
functions:
  hello:
    code: ./hello
    handler: main.handler
    triggers:
      - http: {path: /hello}
"""


def _version(invocation: Invocation, spec: RevisionSpec) -> str:
    return f"{spec.function}@{spec.revision}"


class WatchedRuntime(MemoryRuntime):
    """Records, for each warm-up, whether its gateway already routed to that revision."""

    def __init__(self) -> None:
        super().__init__({"main.handler": _version})
        self.control: ControlPlane | None = None
        self.warmed_while_routed: dict[RevisionKey, bool] = {}
        # While set and not yet open, warm-ups wait for it (a slow revision), after
        # setting `at_gate`.
        self.gate: asyncio.Event | None = None
        self.at_gate = asyncio.Event()

    async def warm(self, spec: RevisionSpec) -> None:
        assert self.control is not None
        routed = spec.key in self.control.snapshot.referenced()
        self.warmed_while_routed.setdefault(spec.key, routed)
        if self.gate is not None:
            self.at_gate.set()
            await self.gate.wait()
        await super().warm(spec)


async def _replica(store: MemoryStore, root: Path) -> tuple[ControlPlane, WatchedRuntime]:
    runtime = WatchedRuntime()
    plane = ControlPlane(store=store, bundles_root=root / "bundles", runtimes={"python": runtime})
    runtime.control = plane
    await plane.start()
    return plane, runtime


@pytest.fixture
def shared() -> MemoryStore:
    return MemoryStore(shared=True)


@dataclass(frozen=True, kw_only=True)
class Pair:
    """Two replicas on one shared store."""

    a: ControlPlane
    b: ControlPlane
    a_runtime: WatchedRuntime
    b_runtime: WatchedRuntime

    async def both_on(self, file: GaiaFile) -> None:
        """A applies `file`; B takes it."""
        await self.a.apply(file)
        await self.b.resync()


@pytest.fixture
async def pair(shared: MemoryStore, tmp_path: Path) -> Pair:
    a, a_runtime = await _replica(shared, tmp_path / "a")
    b, b_runtime = await _replica(shared, tmp_path / "b")
    return Pair(a=a, b=b, a_runtime=a_runtime, b_runtime=b_runtime)


async def test_a_revision_published_on_one_replica_is_warmed_on_the_other_before_it_routes(
    pair: Pair, tmp_path: Path, gaia_file: Parse
) -> None:
    a, b = pair.a, pair.b
    b_runtime = pair.b_runtime
    file = gaia_file(FILE, code={"hello": "print('v1')"})
    await a.apply(file)
    assert not b.snapshot.routes.routes
    assert await b.resync()
    key = RevisionKey(function="hello", revision=1)
    assert b.snapshot.aliases[("hello", "default")].choose() == 1
    assert [route.path for route in b.snapshot.routes.routes] == ["/hello"]
    assert b_runtime.warmed_while_routed == {key: False}
    # B got the bundle from the store, not from A's disk.
    digest = b.revisions("hello")[0].digest
    bundle = tmp_path / "b" / "bundles" / digest
    assert (bundle / "main.py").read_text() == "print('v1')"
    assert b.state == a.state
    assert not await b.resync()  # nothing newer: nothing done


async def test_alias_changes_and_deletions_reach_the_other_replica_with_its_listeners(
    pair: Pair, tmp_path: Path, gaia_file: Parse
) -> None:
    a, b = pair.a, pair.b
    b_runtime = pair.b_runtime
    heard: list[int] = []

    async def listener(state: StoredState) -> None:
        heard.append(state.version)

    b.add_listener(listener)
    await a.apply(gaia_file(FILE, code={"hello": "v1"}))
    (tmp_path / "hello" / "main.py").write_text("v2")
    await a.apply(gaia_file(FILE))
    pinned = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    await a.set_alias("hello", "default", pinned)
    await b.resync()
    assert b.snapshot.aliases[("hello", "default")].choose() == 1
    assert heard == [a.state.version]
    await a.delete_function("hello")
    await b.resync()
    assert b.state.functions == ()
    assert not b.snapshot.routes.routes
    assert set(b_runtime.retired) >= {RevisionKey(function="hello", revision=1)}
    assert list((tmp_path / "b" / "bundles").iterdir()) == []
    assert heard[-1] == a.state.version


async def test_two_replicas_changing_one_version_one_wins_and_the_other_hears_why(
    pair: Pair, tmp_path: Path, gaia_file: Parse
) -> None:
    a, b = pair.a, pair.b
    b_runtime = pair.b_runtime
    await pair.both_on(gaia_file(FILE, code={"hello": "v1"}))
    # B plans on version 1 and warms its new revision slowly; meanwhile A stores version 2.
    b_runtime.gate = asyncio.Event()
    (tmp_path / "hello" / "main.py").write_text("v2")
    b_publish = asyncio.create_task(b.apply(gaia_file(FILE)))
    await b_runtime.at_gate.wait()
    pinned = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    await a.set_alias("hello", "default", pinned, by="alias set")
    b_runtime.gate.set()
    with pytest.raises(ConcurrentChange) as refused:
        await b_publish
    assert refused.value.status == 409
    assert refused.value.code == "concurrent_change"
    assert "moved from version 1 to 2" in refused.value.message
    assert "alias set on memory: alias hello:default" in refused.value.message
    # Nothing of B's landed, and B now serves what A stored.
    assert [r.number for r in a.revisions("hello")] == [1]
    assert b.state == a.state
    assert b.snapshot.aliases[("hello", "default")].choose() == 1


async def test_a_change_on_a_replica_that_lags_is_planned_on_the_newest_version(
    pair: Pair, tmp_path: Path, gaia_file: Parse
) -> None:
    a, b = pair.a, pair.b
    await a.apply(gaia_file(FILE, code={"hello": "v1"}))
    # B never heard of it; its change still lands, on top of A's.
    pinned = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    await b.set_alias("hello", "prod", pinned)
    await a.resync()
    assert sorted(name for (_, name) in a.snapshot.aliases) == ["default", "prod"]


class DownStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__(shared=True)
        self.down = False

    async def version(self) -> int:
        if self.down:
            raise StoreUnavailable("the shared store redis://x:1/0 cannot be reached (refused)")
        return await super().version()


async def test_with_the_store_down_changes_answer_503_and_routing_stays(
    tmp_path: Path, gaia_file: Parse
) -> None:
    store = DownStore()
    a, _ = await _replica(store, tmp_path / "a")
    await a.apply(gaia_file(FILE, code={"hello": "v1"}))
    store.down = True
    pinned = AliasSpec(traffic=(TrafficTarget(revision=1, percent=100.0),))
    with pytest.raises(StoreDown) as refused:
        await a.set_alias("hello", "prod", pinned)
    assert (refused.value.status, refused.value.code) == (503, "store_unavailable")
    assert refused.value.message.startswith("nothing changed: the shared store redis://x:1/0")
    assert "(this one version 1)" in refused.value.message
    assert a.snapshot.aliases[("hello", "default")].choose() == 1
    follower = Follower(a)
    follower._lost("the shared store redis://x:1/0 cannot be reached (refused)")
    status = follower.status().to_dict()
    assert status == {
        "kind": "memory",
        "version": 1,
        "connected": False,
        "error": "the shared store redis://x:1/0 cannot be reached (refused)",
        "checked_at": None,
    }
    store.down = False
    assert not await follower._changed(None)
    assert follower.status().connected


async def test_a_version_whose_revision_will_not_warm_here_leaves_the_one_before(
    pair: Pair, tmp_path: Path, gaia_file: Parse
) -> None:
    a, b = pair.a, pair.b
    a_runtime = pair.a_runtime
    b_runtime = pair.b_runtime
    await pair.both_on(gaia_file(FILE, code={"hello": "v1"}))
    # Revision 2's handler exists on A only; A pins the alias to it.
    a_runtime.handlers["other.handler"] = _version
    (tmp_path / "hello" / "main.py").write_text("v2")
    await a.apply(gaia_file(FILE.replace("main.handler", "other.handler")))
    pinned = AliasSpec(traffic=(TrafficTarget(revision=2, percent=100.0),))
    await a.set_alias("hello", "default", pinned)
    follower = Follower(b)
    assert not await follower._changed(None)
    assert b.snapshot.aliases[("hello", "default")].choose() == 1
    assert b.state.version == 1
    assert follower.status().error == ("version 3 routes to hello@2, which would not warm here")
    # Once it warms here, B takes the version at the next check.
    b_runtime.handlers["other.handler"] = _version
    assert await follower._changed(None)
    assert b.snapshot.aliases[("hello", "default")].choose() == 2
    assert follower.status().error is None


class CommitLost(MemoryStore):
    """A store whose connection breaks while a write is being committed."""

    async def write(self, changes: Changes, *, base: StoredState, by: str = "") -> None:
        raise StoreUnavailable(
            "the shared store redis://x:1/0 cannot be reached (reset)", outcome_unknown=True
        )


async def test_a_change_whose_commit_was_cut_off_says_it_may_have_been_stored(
    tmp_path: Path, gaia_file: Parse
) -> None:
    a, _ = await _replica(CommitLost(shared=True), tmp_path / "a")
    with pytest.raises(StoreDown) as refused:
        await a.apply(gaia_file(FILE, code={"hello": "v1"}))
    assert refused.value.message.startswith(
        "the connection broke while the change was being committed, so it may have been "
        "stored: GET /v1/status shows the version once the store is back: the shared store"
    )
    assert a.snapshot.aliases == {}


async def test_replicas_started_with_one_file_store_it_once(
    pair: Pair, tmp_path: Path, gaia_file: Parse
) -> None:
    gaia_file(FILE, code={"hello": "def handler(event, context):\n    return 1\n"})
    path = tmp_path / "gaia.yaml"
    path.write_text(FILE)

    # B plans first but warms slowly; A stores the file meanwhile.
    pair.b_runtime.gate = asyncio.Event()
    b_start = asyncio.create_task(apply_at_start(pair.b, path))
    await pair.b_runtime.at_gate.wait()
    assert await apply_at_start(pair.a, path) is not None
    pair.b_runtime.gate.set()
    # Refused once, then planned again on A's version, where the file is the one applied.
    assert await b_start is None
    assert pair.b.state == pair.a.state
    assert pair.a.state.version == 1
    assert pair.a.state.startup_file is not None
