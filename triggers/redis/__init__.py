"""Redis Streams triggers: entries of a stream, read in a consumer group (`- redis: {...}`)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from triggers.kind import Claim, TriggerKind
from triggers.redis.config import RedisTriggerConfig
from triggers.redis.state import RedisState

STUCK_HEADERS = ["entry", "stuck for", "next try in", "error"]


def _identity(function: str, config: RedisTriggerConfig) -> str:
    return f"redis {config.url} {config.stream} group {config.group_for(function)}"


def _claims(function: str, config: RedisTriggerConfig) -> tuple[Claim, ...]:
    # Two triggers in one group of one stream would split its entries between them; the
    # same names on another server are another group.
    group, stream = config.group_for(function), config.stream
    return (
        Claim(
            key=("redis group", config.url, stream, group),
            at="group" if config.group is not None else "",
            clash=lambda first: (
                f"consumer group {group!r} of stream {stream!r} is also the group of {first},"
                " and triggers sharing a group split its entries between them: expected a"
                " group: of its own for this trigger"
            ),
        ),
    )


def _source(spec: Mapping[str, Any]) -> str:
    group = spec.get("group")
    return f"{spec['stream']} (group {group})" if group else str(spec["stream"])


def stuck_table(
    state: RedisState, *, now: float | None = None
) -> tuple[list[str], list[list[object]]]:
    """`gaia triggers show`: a row per stuck entry."""
    at = time.time() if now is None else now
    rows: list[list[object]] = [
        [
            stuck.entry,
            f"{max(0.0, at - stuck.since):.0f}s",
            f"{max(0.0, stuck.retry_at - at):.0f}s",
            stuck.error,
        ]
        for stuck in state.stuck_entries
    ]
    return STUCK_HEADERS, rows


KIND = TriggerKind(
    name="redis",
    description="entries of a Redis Stream, read in a consumer group",
    state=RedisState,
    config=RedisTriggerConfig,
    subscriber="triggers.redis.subscriber:build",
    identity=_identity,
    claims=_claims,
    source=_source,
    details=("group", "consumer", "ordering", "pending", "claimed"),
    table=stuck_table,
)
