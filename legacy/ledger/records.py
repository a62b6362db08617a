"""What the ledger stores: its routes, and the history of every change to them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Literal

from legacy.config import LegacyRouteConfig
from legacy.ports import Evidence

Action = Literal["added", "changed", "removed"]


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    route: LegacyRouteConfig
    # When the route entered its current state: the start of the evidence window.
    since: float
    updated_at: float

    @property
    def path(self) -> str:
        return self.route.path


@dataclass(frozen=True, kw_only=True)
class EvidenceAt:
    """The figures a change was made on, kept with it in the history."""

    since: float
    samples: int
    mismatches: int
    mismatch_rate: float | None
    legacy_requests: int
    legacy_errors: int
    legacy_error_rate: float | None
    legacy_p50_ms: float | None
    function_requests: int
    function_errors: int
    function_error_rate: float | None
    function_p50_ms: float | None

    @classmethod
    def of(cls, evidence: Evidence) -> EvidenceAt:
        return cls(
            since=evidence.since,
            samples=evidence.samples,
            mismatches=evidence.mismatches,
            mismatch_rate=evidence.mismatch_rate,
            legacy_requests=evidence.legacy.requests,
            legacy_errors=evidence.legacy.errors,
            legacy_error_rate=evidence.legacy.error_rate,
            legacy_p50_ms=evidence.legacy.p50_ms,
            function_requests=evidence.function.requests,
            function_errors=evidence.function.errors,
            function_error_rate=evidence.function.error_rate,
            function_p50_ms=evidence.function.p50_ms,
        )

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> EvidenceAt:
        return cls(**data)  # type: ignore[arg-type]


@dataclass(frozen=True, kw_only=True)
class LedgerChange:
    """One entry of a route's history: what it was, what it became, on what evidence, and
    who asked. The admin API has one shared token, so `actor` is who the client says it is
    (the CLI sends user@host, or `--by`); `channel` is the operation that made the change."""

    path: str
    at: float
    action: Action
    before: LegacyRouteConfig | None
    after: LegacyRouteConfig | None
    evidence: EvidenceAt | None
    actor: str
    channel: str
    # A gate's verdict when the change crossed one: why it passed, or why it would not
    # have, had `forced` not overridden it.
    gate: str | None = None
    forced: bool = False
