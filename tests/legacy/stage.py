"""A legacy router over the in-memory old API and functions, with a stand-in for
`legacy.compare` / `legacy.noise` (top-level JSON keys only) so the router's own logic
is what these tests exercise."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from legacy.config import LegacyConfig
from legacy.evidence import EvidenceBook
from legacy.ports import CapturedResponse, DiscoveredRoute
from legacy.router import LegacyRouter
from legacy.shadow import ShadowPool
from tests.legacy.fakes import Behaviour, FakeFunctions, FakeProxy, OldApi


def top_level_compare(
    old: CapturedResponse,
    new: CapturedResponse,
    *,
    headers: Sequence[str],
    ignore: Sequence[str],
    noise: Iterable[str],
) -> Sequence[str]:
    skipped = set(ignore) | set(noise)
    differences = []
    if old.status != new.status:
        differences.append(f"status: {old.status} != {new.status}")
    for name in headers:
        left = [v for k, v in old.headers if k.decode() == name]
        right = [v for k, v in new.headers if k.decode() == name]
        if left != right:
            differences.append(f"header:{name}: {left} != {right}")
    before, after = json.loads(old.body or b"{}"), json.loads(new.body or b"{}")
    for key in sorted(set(before) | set(after)):
        path = f"$.{key}"
        if path not in skipped and before.get(key) != after.get(key):
            differences.append(f"{path}: {before.get(key)!r} != {after.get(key)!r}")
    return differences


def top_level_noise(first: CapturedResponse, second: CapturedResponse) -> list[str]:
    a, b = json.loads(first.body or b"{}"), json.loads(second.body or b"{}")
    return [f"$.{key}" for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]


class ListDiscovery:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str, int]] = []

    def record(self, method: str, path: str, *, status: int, duration_s: float) -> None:
        self.seen.append((method, path, status))

    def discovered(self) -> list[DiscoveredRoute]:
        return []


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
    discovery: ListDiscovery


def stage(
    config: LegacyConfig,
    old: OldApi,
    behave: Behaviour,
    *,
    sticky: bool = False,
    rand: Callable[[], float] | None = None,
    body_limit: int = 1024 * 1024,
    clock: Callable[[], float] | None = None,
) -> Stage:
    rand = rand or random.Random(7).random
    proxy = FakeProxy(old)
    functions = FakeFunctions(behave, sticky=sticky)
    discovery = ListDiscovery()
    book = EvidenceBook(discovery)
    shadow = ShadowPool(
        settings=config.shadow,
        proxy=proxy,
        functions=functions,
        compare=top_level_compare,
        learn_noise=top_level_noise,
        rand=rand,
    )
    router = LegacyRouter(
        config=config,
        proxy=proxy,
        functions=functions,
        book=book,
        shadow=shadow,
        body_limit=body_limit,
        rand=rand,
        clock=clock or time.time,
    )
    return Stage(
        router=router,
        proxy=proxy,
        functions=functions,
        book=book,
        shadow=shadow,
        discovery=discovery,
    )
