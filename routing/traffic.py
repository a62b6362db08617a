"""An alias's traffic specification: what users write, validated once, and its stored form.

User input (gaia.yaml, the admin API, `gaia alias set`) becomes an AliasSpec only through
`parse_alias_spec`, which applies each rule once. The stored form comes back through
`AliasSpec.from_dict` without them: it was checked when written, possibly under older,
looser rules, and must keep serving. Resolution (a revision per request) lives in
`routing.aliases`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from configkit.issues import issues_of
from limits.spec import RateLimit
from routing.errors import InvalidSpec
from routing.names import (
    LATEST,
    TOKEN_PATTERN,
    check_revision,
    check_revision_number,
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
ALIAS_KEYS = ("traffic", "sticky", "fallback", "rate_limit", "rollout")
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
    """A traffic split, as `parse_alias_spec` or `from_dict` built it. The constructor
    checks nothing: code that builds one directly holds typed values, not user input."""

    traffic: tuple[TrafficTarget, ...] = field(
        default_factory=lambda: (TrafficTarget(revision=LATEST, percent=100.0),)
    )
    sticky: Sticky | None = None
    # The revision that answers while the one picked has its circuit open.
    fallback: int | None = None
    rate_limit: RateLimit | None = None

    def to_dict(self) -> dict[str, object]:
        """The stored form, which `from_dict` reads back. `fallback` and `rate_limit`
        only when set, so that aliases from before them keep their stored form."""
        data: dict[str, object] = {
            "traffic": [
                {"revision": t.revision, "percent": t.percent} | ({"tag": t.tag} if t.tag else {})
                for t in self.traffic
            ],
            "sticky": str(self.sticky) if self.sticky else None,
        }
        if self.fallback is not None:
            data["fallback"] = self.fallback
        if self.rate_limit is not None:
            data["rate_limit"] = self.rate_limit.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AliasSpec:
        """The spec `to_dict()` stored, as it was: a release with looser rules may have
        written a tag like `Canary` or a revision twice, and that alias must still load
        and route as before. New input goes through `parse_alias_spec` instead."""
        sticky = data.get("sticky")
        return cls(
            traffic=tuple(
                TrafficTarget(
                    revision=entry["revision"],
                    percent=float(entry["percent"]),
                    tag=entry.get("tag"),
                )
                for entry in data["traffic"]
            ),
            sticky=_stored_sticky(sticky) if sticky else None,
            fallback=data.get("fallback"),
            rate_limit=RateLimit.from_dict(data["rate_limit"]) if data.get("rate_limit") else None,
        )


def _sticky_parts(text: str) -> tuple[StickySource, str] | None:
    source, sep, name = text.partition(":")
    if not sep:
        return None
    for known in _STICKY_SOURCES:  # a loop rather than `in`, so the source types as one
        if source == known:
            return known, name
    return None


def _stored_sticky(text: str) -> Sticky:
    parts = _sticky_parts(text)
    if parts is None:
        # No release stored this: every one wrote str(Sticky), whose source is a known one.
        raise InvalidSpec(f"stored sticky key {shown(text)} has no source", path="sticky")
    return Sticky(source=parts[0], name=parts[1])


def parse_sticky(text: str, *, path: str = "sticky") -> Sticky:
    parts = _sticky_parts(text)
    if parts is None:
        raise InvalidSpec(
            f"invalid sticky key {shown(text)}: expected header:NAME, cookie:NAME or query:NAME",
            path=path,
        )
    kind, name = parts
    check_token(name, what=f"{kind} name", path=path)
    return Sticky(source=kind, name=name.lower() if kind == "header" else name)


def _check_list(traffic: tuple[TrafficTarget, ...], *, path: str) -> None:
    """The rules across entries; each entry's own were checked as it was parsed."""
    if not traffic:
        raise InvalidSpec("traffic is empty: expected at least one revision", path=path)
    tags: set[str] = set()
    # Literal revisions, not resolved ones: `1=90 latest=10` stays valid while 1 is latest.
    revisions: set[int | str] = set()
    for index, target in enumerate(traffic):
        where = f"{path}[{index}]"
        if target.revision in revisions:
            raise InvalidSpec(
                f"revision {target.revision!r} is listed twice: expected each revision once "
                "(give it one entry with the percents added up)",
                path=f"{where}.revision",
            )
        revisions.add(target.revision)
        if target.tag is not None:
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
        raise InvalidSpec(f"expected a mapping {{{', '.join(ALIAS_KEYS)}}}", path=path)
    unknown = set(raw) - set(ALIAS_KEYS)
    if unknown:
        raise InvalidSpec(
            f"unknown key {shown(sorted(unknown, key=str)[0])}: expected {', '.join(ALIAS_KEYS)}",
            path=path,
        )
    raw_traffic = raw.get("traffic", [{"revision": LATEST, "percent": 100}])
    if not isinstance(raw_traffic, list):
        raise InvalidSpec("expected a list of {revision, percent, tag}", path=f"{prefix}traffic")
    traffic = tuple(
        _parse_target(item, path=f"{prefix}traffic[{i}]") for i, item in enumerate(raw_traffic)
    )
    _check_list(traffic, path=f"{prefix}traffic")
    sticky_raw = raw.get("sticky")
    if sticky_raw is not None and not isinstance(sticky_raw, str):
        raise InvalidSpec("expected header:NAME, cookie:NAME or query:NAME", path=f"{prefix}sticky")
    sticky = parse_sticky(sticky_raw, path=f"{prefix}sticky") if sticky_raw is not None else None
    fallback_raw = raw.get("fallback")
    fallback = (
        check_revision_number(fallback_raw, path=f"{prefix}fallback")
        if fallback_raw is not None
        else None
    )
    rate_raw = raw.get("rate_limit")
    rate_limit = _rate_limit(rate_raw, path=f"{prefix}rate_limit") if rate_raw is not None else None
    return AliasSpec(traffic=traffic, sticky=sticky, fallback=fallback, rate_limit=rate_limit)


def _rate_limit(raw: object, *, path: str) -> RateLimit:
    try:
        return RateLimit.model_validate(raw)
    except ValidationError as exc:
        where, message = issues_of(exc, path)[0]
        raise InvalidSpec(message, path=where) from None


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
