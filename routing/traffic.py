"""An alias's traffic specification: what users write, validated.

Resolution (turning a spec into a revision per request) lives in `routing.aliases`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from routing.errors import InvalidSpec
from routing.names import (
    LATEST,
    TOKEN_PATTERN,
    check_revision,
    check_tag_name,
    check_token,
    shown,
)

__all__ = [
    "LATEST",
    "STICKY_SCHEMA_PATTERN",
    "AliasSpec",
    "Sticky",
    "TrafficTarget",
    "parse_alias_spec",
    "parse_sticky",
]

StickySource = Literal["header", "cookie", "query"]
_STICKY_SOURCES: tuple[StickySource, ...] = ("header", "cookie", "query")
# What parse_sticky accepts, as an anchored JSON Schema pattern for /openapi.json.
STICKY_SCHEMA_PATTERN = f"^({'|'.join(_STICKY_SOURCES)}):{TOKEN_PATTERN}$"


@dataclass(frozen=True, kw_only=True, slots=True)
class TrafficTarget:
    revision: int | Literal["latest"]
    percent: float
    tag: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Sticky:
    source: StickySource
    name: str

    def __str__(self) -> str:
        return f"{self.source}:{self.name}"


@dataclass(frozen=True, kw_only=True)
class AliasSpec:
    traffic: tuple[TrafficTarget, ...] = field(
        default_factory=lambda: (TrafficTarget(revision=LATEST, percent=100.0),)
    )
    sticky: Sticky | None = None

    def __post_init__(self) -> None:
        validate_traffic(self.traffic)

    def to_dict(self) -> dict[str, object]:
        return {
            "traffic": [
                {"revision": t.revision, "percent": t.percent} | ({"tag": t.tag} if t.tag else {})
                for t in self.traffic
            ],
            "sticky": str(self.sticky) if self.sticky else None,
        }


def parse_sticky(text: str, *, path: str = "sticky") -> Sticky:
    source, sep, name = text.partition(":")
    if not sep or source not in _STICKY_SOURCES:
        raise InvalidSpec(
            f"invalid sticky key {shown(text)}: expected header:NAME, cookie:NAME or query:NAME",
            path=path,
        )
    kind: StickySource = source
    check_token(name, what=f"{kind} name", path=path)
    return Sticky(source=kind, name=name.lower() if kind == "header" else name)


def validate_traffic(traffic: tuple[TrafficTarget, ...], *, path: str = "traffic") -> None:
    if not traffic:
        raise InvalidSpec("traffic is empty: expected at least one revision", path=path)
    tags: set[str] = set()
    # Literal revisions, not resolved ones: `1=90 latest=10` stays valid while 1 is latest.
    revisions: set[int | str] = set()
    for index, target in enumerate(traffic):
        where = f"{path}[{index}]"
        check_revision(target.revision, path=f"{where}.revision")
        if target.revision in revisions:
            raise InvalidSpec(
                f"revision {target.revision!r} is listed twice: expected each revision once "
                "(give it one entry with the percents added up)",
                path=f"{where}.revision",
            )
        revisions.add(target.revision)
        _check_percent(target.percent, path=f"{where}.percent")
        if target.tag is not None:
            check_tag_name(target.tag, path=f"{where}.tag")
            if target.tag in tags:
                raise InvalidSpec(f"tag {target.tag!r} is used twice", path=f"{where}.tag")
            tags.add(target.tag)
    total = sum(t.percent for t in traffic)
    if abs(total - 100) > 1e-9:
        raise InvalidSpec(f"percents add up to {total:g}: expected 100", path=path)


def parse_alias_spec(raw: object, *, path: str = "") -> AliasSpec:
    """Build an AliasSpec from plain data (YAML, JSON); errors name the key."""
    prefix = f"{path}." if path else ""
    if not isinstance(raw, Mapping):
        raise InvalidSpec("expected a mapping {traffic, sticky, rollout}", path=path)
    unknown = set(raw) - {"traffic", "sticky", "rollout"}
    if unknown:
        raise InvalidSpec(
            f"unknown key {shown(sorted(unknown, key=str)[0])}: expected traffic, sticky, rollout",
            path=path,
        )
    raw_traffic = raw.get("traffic", [{"revision": LATEST, "percent": 100}])
    if not isinstance(raw_traffic, list):
        raise InvalidSpec("expected a list of {revision, percent, tag}", path=f"{prefix}traffic")
    traffic = tuple(
        _parse_target(item, path=f"{prefix}traffic[{i}]") for i, item in enumerate(raw_traffic)
    )
    validate_traffic(traffic, path=f"{prefix}traffic")
    sticky_raw = raw.get("sticky")
    if sticky_raw is not None and not isinstance(sticky_raw, str):
        raise InvalidSpec("expected header:NAME, cookie:NAME or query:NAME", path=f"{prefix}sticky")
    sticky = parse_sticky(sticky_raw, path=f"{prefix}sticky") if sticky_raw is not None else None
    return AliasSpec(traffic=traffic, sticky=sticky)


def _parse_target(item: object, *, path: str) -> TrafficTarget:
    if not isinstance(item, Mapping):
        raise InvalidSpec("expected a mapping {revision, percent, tag}", path=path)
    unknown = set(item) - {"revision", "percent", "tag"}
    if unknown:
        raise InvalidSpec(
            f"unknown key {shown(sorted(unknown, key=str)[0])}: expected revision, percent, tag",
            path=path,
        )
    revision = check_revision(item.get("revision"), path=f"{path}.revision")
    percent = item.get("percent")
    if isinstance(percent, bool) or not isinstance(percent, int | float):
        raise InvalidSpec(
            f"invalid percent {shown(percent)}: expected a number", path=f"{path}.percent"
        )
    # Before float(): an int too large for a float is out of range, not an OverflowError.
    _check_percent(percent, path=f"{path}.percent")
    tag = item.get("tag")
    if tag is not None:
        check_tag_name(tag, path=f"{path}.tag")
    return TrafficTarget(revision=revision, percent=float(percent), tag=tag)


def _check_percent(percent: float, *, path: str) -> None:
    if not 0 <= percent <= 100:  # also refuses NaN
        raise InvalidSpec(f"percent {shown(percent)} is out of range: expected 0 to 100", path=path)
