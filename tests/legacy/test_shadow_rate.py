"""Shadow copies are rate-limited per route: `shadow.rate` copies a second from a token
bucket holding one second's worth; a request that finds no token is served by the old
API as always, not copied, and counted as skipped."""

from __future__ import annotations

import pytest

from legacy.config import LegacyConfig
from legacy.ports import Evidence
from tests.legacy.fakes import call
from tests.legacy.stage import Stage, legacy_config, stage
from tests.legacy.test_shadow import PATH, old_api, same_as_old, shadow_route

OTHER = "/users/{id}"


class Ticks:
    """A monotonic clock that moves only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def shadowed(rate: float, ticks: Ticks, *routes: dict[str, object]) -> Stage:
    return stage(config(rate, *routes), old_api, same_as_old, ticks=ticks)


def config(rate: float, *routes: dict[str, object]) -> LegacyConfig:
    return legacy_config(list(routes) or [shadow_route()], shadow={"rate": rate})


async def requests(s: Stage, count: int, path: str = "/items/") -> Evidence:
    for i in range(count):
        assert (await call(s.router, "GET", f"{path}{i}")).status == 200
    await s.shadow.idle()
    evidence = s.book.evidence(PATH if path == "/items/" else OTHER)
    assert evidence is not None
    return evidence


async def test_a_burst_beyond_one_seconds_worth_is_skipped_and_counted() -> None:
    ticks = Ticks()
    s = shadowed(5, ticks)
    evidence = await requests(s, 8)
    assert (evidence.requests, evidence.samples, evidence.shadow_skipped) == (8, 5, 3)
    assert evidence.shadow_dropped == 0
    assert len(s.functions.calls) == 5
    # The old API answered every one of them (besides the noise samples' second asks).
    assert [a.how for a in s.proxy.asked].count("forward") == 8


async def test_tokens_come_back_at_the_rate() -> None:
    ticks = Ticks()
    s = shadowed(4, ticks)
    await requests(s, 4)
    ticks.now += 0.5  # two tokens at 4 a second
    evidence = await requests(s, 3)
    assert (evidence.samples, evidence.shadow_skipped) == (6, 1)
    ticks.now += 0.125  # half a token: not yet one
    evidence = await requests(s, 1)
    assert (evidence.samples, evidence.shadow_skipped) == (6, 2)


async def test_a_quiet_route_is_copied_every_time() -> None:
    ticks = Ticks()
    s = shadowed(20, ticks)
    for _ in range(100):  # 10 a second, under the rate: far more requests than the burst
        await requests(s, 1)
        ticks.now += 0.1
    evidence = s.book.evidence(PATH)
    assert evidence is not None
    assert (evidence.samples, evidence.shadow_skipped) == (100, 0)


async def test_a_long_quiet_spell_banks_no_more_than_one_seconds_worth() -> None:
    ticks = Ticks()
    s = shadowed(20, ticks)
    await requests(s, 20)
    ticks.now += 3600
    evidence = await requests(s, 30)
    assert (evidence.samples, evidence.shadow_skipped) == (40, 10)


async def test_a_rate_under_one_a_second_still_copies_one() -> None:
    ticks = Ticks()
    s = shadowed(0.5, ticks)
    evidence = await requests(s, 3)
    assert (evidence.samples, evidence.shadow_skipped) == (1, 2)
    ticks.now += 1.9
    evidence = await requests(s, 1)
    assert (evidence.samples, evidence.shadow_skipped) == (1, 3)
    ticks.now += 0.1
    evidence = await requests(s, 1)
    assert (evidence.samples, evidence.shadow_skipped) == (2, 3)


async def test_each_route_has_its_own_bucket() -> None:
    ticks = Ticks()
    users = shadow_route(path=OTHER)
    s = shadowed(2, ticks, shadow_route(), users)
    items = await requests(s, 4)
    others = await requests(s, 4, "/users/")
    assert (items.samples, items.shadow_skipped) == (2, 2)
    assert (others.samples, others.shadow_skipped) == (2, 2)


async def test_moving_a_route_back_and_forth_does_not_refill_its_bucket() -> None:
    ticks = Ticks()
    s = shadowed(3, ticks)
    await requests(s, 3)
    s.router.update(config(3, shadow_route(state="legacy")))
    s.router.update(config(3, shadow_route()))
    evidence = await requests(s, 2)  # a fresh window, the same empty bucket
    assert (evidence.samples, evidence.shadow_skipped) == (0, 2)
    # A new rate is a new bucket, full.
    s.router.update(config(4, shadow_route()))
    evidence = await requests(s, 5)
    assert (evidence.samples, evidence.shadow_skipped) == (4, 3)


async def test_a_request_not_copied_takes_no_token() -> None:
    ticks = Ticks()
    s = shadowed(2, ticks)
    for _ in range(3):  # unsafe, so never copied: the tokens stay for the GETs
        assert (await call(s.router, "POST", "/items/1", body=b"x")).status == 200
    evidence = await requests(s, 2)
    assert (evidence.samples, evidence.shadow_skipped) == (2, 3)


@pytest.mark.parametrize(
    ("rate", "shown"), [(0, "0"), (-1, "-1"), ("fast", "'fast'"), (True, "true"), (None, "nothing")]
)
def test_a_rate_must_be_above_zero(rate: object, shown: str) -> None:
    with pytest.raises(ValueError, match=r"shadow\.rate") as info:
        legacy_config([], shadow={"rate": rate})
    assert f"expected copies per second, a number above 0, got {shown}" in str(info.value)


def test_the_default_rate_is_10_a_second() -> None:
    assert legacy_config([]).shadow.rate == 10.0
