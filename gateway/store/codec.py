"""The stored form of each record, as JSON: one spelling for every backend.

SQLite keeps some fields in columns and the rest as JSON text made here; Redis keeps
each record as one JSON object made here. Reading back never applies today's input
rules to what an older release stored (see `served_spec`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping
from typing import Any

from configkit.model import ConfigModel
from gateway.store.base import (
    AliasChange,
    AliasRecord,
    ChangeNote,
    FunctionRecord,
    RevisionRecord,
    TriggerRecord,
)
from legacy.config import LegacyConfig, LegacyRouteConfig
from legacy.ledger import EvidenceAt, LedgerChange, LedgerEntry
from routing.errors import InvalidSpec
from routing.traffic import AliasSpec, parse_alias_spec

log = logging.getLogger("gaia.store")

Data = dict[str, Any]


def dumps(data: object) -> str:
    """Canonical JSON: sorted keys, no spaces."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def model_data(model: ConfigModel) -> Data:
    """A config model as gaia.yaml keys, as given (to_dict's canonical order would make a
    route's methods load back in another order than they were written)."""
    return model.model_dump(mode="json", by_alias=True, exclude_none=True)


def model_json(model: ConfigModel | None) -> str | None:
    return None if model is None else dumps(model_data(model))


def route_of(data: Mapping[str, object] | None) -> LegacyRouteConfig | None:
    return LegacyRouteConfig.from_dict(data) if data else None


def served_spec(function: str, alias: str, data: Mapping[str, Any]) -> AliasSpec:
    """An alias's stored spec, served as it was written even where today's input rules
    are stricter than the release that wrote it; such an alias is logged, once per load,
    since its next change must follow them."""
    try:
        parse_alias_spec(data)
    except InvalidSpec as exc:
        log.warning(
            "alias %s:%s is served as stored, but today's rules refuse it (%s); "
            "the next alias set or apply of it must follow them",
            function,
            alias,
            exc,
        )
    return AliasSpec.from_dict(data)


def spec_data(spec: AliasSpec | None) -> Data | None:
    return None if spec is None else spec.to_dict()


def spec_of(data: Mapping[str, Any] | None) -> AliasSpec | None:
    return None if data is None else AliasSpec.from_dict(data)


# -- whole records, for stores that keep one JSON object per record ---------------------


def plain_data(record: FunctionRecord | RevisionRecord | TriggerRecord | ChangeNote) -> Data:
    """A record whose fields are JSON data already: its fields, as they are."""
    return dataclasses.asdict(record)


def function_of(data: Data) -> FunctionRecord:
    return FunctionRecord(**data)


def revision_of(data: Data) -> RevisionRecord:
    return RevisionRecord(**data)


def alias_data(record: AliasRecord) -> Data:
    return {
        "function": record.function,
        "name": record.name,
        "spec": record.spec.to_dict(),
        "updated_at": record.updated_at,
    }


def alias_of(data: Data) -> AliasRecord:
    return AliasRecord(
        function=data["function"],
        name=data["name"],
        spec=served_spec(data["function"], data["name"], data["spec"]),
        updated_at=data["updated_at"],
    )


def trigger_of(data: Data) -> TriggerRecord:
    return TriggerRecord(**data)


def history_data(change: AliasChange) -> Data:
    return {
        "function": change.function,
        "alias": change.alias,
        "at": change.at,
        "before": spec_data(change.before),
        "after": change.after.to_dict(),
        "by": change.by,
    }


def history_of(data: Data) -> AliasChange:
    after = spec_of(data["after"])
    assert after is not None
    return AliasChange(
        function=data["function"],
        alias=data["alias"],
        at=data["at"],
        before=spec_of(data["before"]),
        after=after,
        by=data["by"],
    )


def legacy_of(data: Data) -> LegacyConfig:
    return LegacyConfig.from_dict(data)


def ledger_entry_data(entry: LedgerEntry) -> Data:
    return {"route": model_data(entry.route), "since": entry.since, "updated_at": entry.updated_at}


def ledger_entry_of(data: Data) -> LedgerEntry:
    route = route_of(data["route"])
    assert route is not None
    return LedgerEntry(route=route, since=data["since"], updated_at=data["updated_at"])


def ledger_change_data(change: LedgerChange) -> Data:
    return {
        "path": change.path,
        "at": change.at,
        "action": change.action,
        "before": None if change.before is None else model_data(change.before),
        "after": None if change.after is None else model_data(change.after),
        "evidence": None if change.evidence is None else change.evidence.to_dict(),
        "actor": change.actor,
        "channel": change.channel,
        "gate": change.gate,
        "forced": change.forced,
    }


def ledger_change_of(data: Data) -> LedgerChange:
    evidence = data["evidence"]
    return LedgerChange(
        path=data["path"],
        at=data["at"],
        action=data["action"],
        before=route_of(data["before"]),
        after=route_of(data["after"]),
        evidence=None if evidence is None else EvidenceAt.from_dict(evidence),
        actor=data["actor"],
        channel=data["channel"],
        gate=data["gate"],
        forced=data["forced"],
    )


def note_of(data: Data) -> ChangeNote:
    return ChangeNote(**data)
