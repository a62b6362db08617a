"""A legacy router over the in-memory old API and functions, with the real comparison,
noise and discovery table."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from legacy.config import LegacyConfig
from legacy.discovery.table import DiscoveryTable
from legacy.evidence import EvidenceBook
from legacy.handover import TrackedProxy
from legacy.router import LegacyRouter
from legacy.shadow import ShadowPool
from tests.legacy.fakes import Behaviour, FakeFunctions, FakeProxy, OldApi


def legacy_config(routes: list[dict[str, object]], **settings: object) -> LegacyConfig:
    return LegacyConfig.model_validate(
        {"upstream": "http://127.0.0.1:9", "routes": routes, **settings}
    )


@dataclass(frozen=True, kw_only=True)
class Stage:
    router: LegacyRouter
    proxy: FakeProxy
    functions: FakeFunctions
    book: EvidenceBook
    shadow: ShadowPool
    discovery: DiscoveryTable


def stage(
    config: LegacyConfig,
    old: OldApi,
    behave: Behaviour,
    *,
    sticky: bool = False,
    rand: Callable[[], float] | None = None,
    body_limit: int = 1024 * 1024,
    clock: Callable[[], float] | None = None,
    ticks: Callable[[], float] | None = None,
) -> Stage:
    rand = rand or random.Random(7).random
    proxy = FakeProxy(old)
    functions = FakeFunctions(behave, sticky=sticky)
    discovery = DiscoveryTable()
    book = EvidenceBook(discovery)
    shadow = ShadowPool(
        settings=config.shadow,
        proxy=proxy,
        functions=functions,
        rand=rand,
    )
    router = LegacyRouter(
        config=config,
        proxy=TrackedProxy(proxy),
        functions=functions,
        book=book,
        shadow=shadow,
        body_limit=body_limit,
        rand=rand,
        clock=clock or time.time,
        ticks=ticks or time.monotonic,
    )
    return Stage(
        router=router,
        proxy=proxy,
        functions=functions,
        book=book,
        shadow=shadow,
        discovery=discovery,
    )
