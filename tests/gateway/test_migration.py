"""The control plane's ledger: apply of `legacy:`, migrate set/add, gates, history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.config import GaiaFile
from gateway.control import ControlPlane
from gateway.errors import Conflict, InvalidInput, NotFound, PromotionRefused
from gateway.store import MemoryStore
from legacy.config import LegacyConfig
from legacy.ledger import EvidenceAt
from legacy.ports import DiscoveredRoute
from runtime_adapters.memory import MemoryRuntime
from tests.legacy.evidence import StaticObservations, evidence

Parse = Callable[..., GaiaFile]

FUNCTIONS = """
functions:
  items:
    code: ./items
    aliases:
      prod: {traffic: [{revision: latest, percent: 100}]}
"""


def legacy(*routes: str, gates: str = "") -> str:
    text = "legacy:\n  upstream: http://127.0.0.1:9000\n" + gates + "  routes:\n"
    return text + "".join(f"    - {route}\n" for route in routes) if routes else text + "    []\n"


SHADOW = '{path: "/items/{id}", function: items:prod, state: shadow}'
CANARY = '{path: "/items/{id}", function: items:prod, state: canary, percent: 20}'
ORDERS = "{path: /orders, methods: [GET, POST]}"


@pytest.fixture
def observed() -> StaticObservations:
    return StaticObservations()


@pytest.fixture
async def plane(
    tmp_path: Path, runtime: MemoryRuntime, store: MemoryStore, observed: StaticObservations
) -> ControlPlane:
    plane = ControlPlane(
        store=store,
        bundles_root=tmp_path / "bundles",
        runtimes={"python": runtime},
        observations=observed,
    )
    await plane.start()
    return plane


async def test_apply_puts_the_files_routes_in_the_ledger_and_tells_the_router(
    plane: ControlPlane, store: MemoryStore, gaia_file: Parse
) -> None:
    told: list[LegacyConfig | None] = []

    async def listener(config: LegacyConfig | None) -> None:
        told.append(config)

    plane.add_legacy_listener(listener)
    result = await plane.apply_file(
        gaia_file(FUNCTIONS + legacy(SHADOW, ORDERS), code={"items": "v1"}), by="ada@ci"
    )
    assert result.ledger is not None and result.ledger.added == ("/items/{id}", "/orders")
    assert plane.legacy is not None
    assert plane.legacy.upstream == "http://127.0.0.1:9000"
    assert [(r.path, r.state) for r in plane.legacy.routes] == [
        ("/items/{id}", "shadow"),
        ("/orders", "legacy"),
    ]
    assert told == [plane.legacy]
    (change,) = plane.ledger_history("/items/{id}")
    assert (change.action, change.actor, change.channel) == ("added", "ada@ci", "apply")
    # Stored: a restarted control plane serves the same ledger and settings.
    again = ControlPlane(store=store, bundles_root=plane._bundles.root, runtimes=plane.runtimes)
    await again.start()
    assert again.legacy == plane.legacy
    # A file without legacy: leaves the ledger, and the router is not told anything.
    await plane.apply(gaia_file(FUNCTIONS, code={"items": "v1"}))
    assert again.legacy == plane.legacy
    assert len(told) == 1
    # A route the next file lacks leaves the ledger; its history stays.
    await plane.apply(gaia_file(FUNCTIONS + legacy(ORDERS), code={"items": "v1"}))
    assert [r.path for r in plane.legacy.routes] == ["/orders"]
    assert [c.action for c in plane.ledger_history("/items/{id}")] == ["added", "removed"]
    assert told[-1] == plane.legacy


async def test_a_refused_promotion_in_a_file_changes_nothing_at_all(
    plane: ControlPlane, store: MemoryStore, gaia_file: Parse, observed: StaticObservations
) -> None:
    await plane.apply(gaia_file(FUNCTIONS + legacy(SHADOW), code={"items": "v1"}))
    before = await store.load()
    observed.by_path["/items/{id}"] = evidence(samples=140, mismatches=5)
    with pytest.raises(PromotionRefused) as refused:
        # The new code would be revision 2: it must not be published either.
        await plane.apply(gaia_file(FUNCTIONS + legacy(CANARY), code={"items": "v2"}))
    assert refused.value.status == 409
    assert refused.value.errors == [
        {
            "field": "legacy.routes[0].state",
            "message": "/items/{id}: shadow → canary refused: mismatch rate 3.6% (5 of 140)"
            " over 140 samples is not under 1.0% (--force overrides)",
        }
    ]
    assert (await store.load()) == before
    assert plane.ledger_entry("/items/{id}").route.state == "shadow"


async def test_a_file_promotion_the_evidence_supports_is_recorded_with_it(
    plane: ControlPlane, gaia_file: Parse, observed: StaticObservations
) -> None:
    await plane.apply(gaia_file(FUNCTIONS + legacy(SHADOW), code={"items": "v1"}))
    shown = evidence(samples=60, mismatches=0, legacy=(60, 1))
    observed.by_path["/items/{id}"] = shown
    gates = "  gates: {mismatch_rate: 0.02, min_samples: 50}\n"
    result = await plane.apply_file(
        gaia_file(FUNCTIONS + legacy(CANARY, gates=gates), code={"items": "v1"})
    )
    assert result.ledger is not None and result.ledger.changed == ("/items/{id}",)
    change = plane.ledger_history("/items/{id}")[-1]
    assert change.gate == "mismatch rate 0.0% (0 of 60) over 60 samples is under 2.0%"
    assert change.evidence == EvidenceAt.of(shown)
    assert (change.forced, change.channel, change.actor) == (False, "apply", "gaia apply")
    assert plane.ledger_entry("/items/{id}").route.percent == 20


@pytest.mark.parametrize(
    ("route", "field", "message"),
    [
        (
            "{path: /a, function: nope, state: shadow}",
            "legacy.routes[0].function",
            "route /a goes to function 'nope', which does not exist",
        ),
        (
            '{path: /a, function: "items:beta", state: shadow}',
            "legacy.routes[0].function",
            "route /a goes to alias items:beta, which is not defined",
        ),
    ],
)
async def test_a_route_to_a_missing_function_or_alias_is_refused(
    plane: ControlPlane, store: MemoryStore, gaia_file: Parse, route: str, field: str, message: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await plane.apply(gaia_file(FUNCTIONS + legacy(route), code={"items": "v1"}))
    assert refused.value.field == field
    assert refused.value.message.startswith(message)
    assert (await store.load()).functions == ()


async def test_migrate_set_gates_forces_demotes_and_records_who(
    plane: ControlPlane, gaia_file: Parse, observed: StaticObservations
) -> None:
    await plane.apply(gaia_file(FUNCTIONS + legacy(SHADOW), code={"items": "v1"}))
    with pytest.raises(PromotionRefused, match="no shadow samples yet: at least 100 are needed"):
        await plane.set_route("/items/{id}", state="canary", percent=10, force=False, by="ada")
    observed.by_path["/items/{id}"] = evidence(samples=100, mismatches=1)
    forced = await plane.set_route("/items/{id}", state="canary", percent=10, force=True, by="ada")
    assert (forced.route.state, forced.route.percent) == ("canary", 10)
    observed.by_path["/items/{id}"] = evidence(legacy=(300, 3), function=(50, 2))
    with pytest.raises(PromotionRefused, match=r"function error rate 4\.0% \(2 of 50\) is worse"):
        await plane.set_route("/items/{id}", state="function", percent=None, force=False, by="bob")
    back = await plane.set_route("/items/{id}", state="shadow", percent=None, force=False, by="bob")
    assert back.route.state == "shadow"
    history = plane.ledger_history("/items/{id}")
    assert [(c.action, c.channel, c.actor, c.forced) for c in history] == [
        ("added", "apply", "gaia apply", False),
        ("changed", "migrate set", "ada", True),
        ("changed", "migrate set", "bob", False),
    ]
    assert history[1].evidence is not None and history[1].evidence.mismatches == 1
    assert history[1].gate == "mismatch rate 1.0% (1 of 100) over 100 samples is not under 1.0%"


async def test_migrate_set_refuses_bad_input_and_unknown_routes(
    plane: ControlPlane, gaia_file: Parse
) -> None:
    await plane.apply(gaia_file(FUNCTIONS + legacy(SHADOW, ORDERS), code={"items": "v1"}))
    with pytest.raises(InvalidInput, match="state canary needs percent") as missing:
        await plane.set_route("/items/{id}", state="canary", percent=None, force=True, by="ada")
    assert missing.value.field == "state"
    with pytest.raises(InvalidInput, match="state shadow needs a function"):
        await plane.set_route("/orders", state="shadow", percent=None, force=True, by="ada")
    with pytest.raises(InvalidInput, match="expected legacy, shadow, canary, function or retired"):
        await plane.set_route("/orders", state="gone", percent=None, force=True, by="ada")
    with pytest.raises(
        NotFound, match=r"'/nope' is not in the ledger \(routes: /items/\{id\}, /orders\)"
    ):
        await plane.set_route("/nope", state="legacy", percent=None, force=False, by="ada")


async def test_migrate_add_takes_discovered_methods_and_refuses_what_cannot_be(
    plane: ControlPlane, gaia_file: Parse, observed: StaticObservations
) -> None:
    await plane.apply(gaia_file(FUNCTIONS, code={"items": "v1"}))
    with pytest.raises(Conflict, match="fronts no old API yet"):
        await plane.add_route("/users/{id}", function="items", methods=None, by="ada")
    await plane.apply(gaia_file(FUNCTIONS + legacy(SHADOW), code={"items": "v1"}))
    observed.routes = [
        DiscoveredRoute(
            pattern="/users/{id}",
            methods={"GET": 10, "DELETE": 30},
            requests=40,
            share=0.4,
            error_rate=0.0,
            p50_ms=3.0,
            p99_ms=9.0,
        )
    ]
    added = await plane.add_route("/users/{id}", function="items:prod", methods=None, by="ada")
    assert (added.route.state, added.route.methods) == ("legacy", ("DELETE", "GET"))
    assert plane.ledger_history("/users/{id}")[0].channel == "migrate add"
    with pytest.raises(Conflict, match="in the ledger already"):
        await plane.add_route("/users/{id}", function="items", methods=("GET",), by="ada")
    with pytest.raises(InvalidInput, match="function 'ghost', which does not exist"):
        await plane.add_route("/ghosts", function="ghost", methods=("GET",), by="ada")
    with pytest.raises(InvalidInput) as bad:
        await plane.add_route("/x/{id", function="items", methods=("GET",), by="ada")
    assert bad.value.field == "path"
