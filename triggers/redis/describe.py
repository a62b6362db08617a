"""How a Redis Streams trigger is named and shown: its one-line description, what
tells two of them apart in a plan, what one must have to itself in a file, and its
columns in `gaia triggers` / `gaia triggers show`. Plain functions of the config, the
stored spec and the state, for the kind registry to hold."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from triggers.redis.config import RedisTriggerConfig

DESCRIPTION = "entries of a Redis Stream, read in a consumer group"
# `gaia triggers show`: shown beside status, in flight and the counts.
DETAILS = ("group", "consumer", "ordering", "pending", "claimed")
STUCK_HEADERS = ["entry", "stuck for", "next try in", "error"]


def identity(function: str, config: RedisTriggerConfig) -> str:
    return f"redis {config.url} {config.stream} group {config.group_for(function)}"


def group_claim(
    function: str, config: RedisTriggerConfig
) -> tuple[tuple[str, ...], str, Callable[[str], str]]:
    """(key, key to blame, message for a second claimant): two triggers in one group of
    one stream would split its entries between them."""
    group, stream = config.group_for(function), config.stream
    where = "group" if config.group is not None else ""

    def clash(first: str) -> str:
        return (
            f"consumer group {group!r} of stream {stream!r} is also the group of {first}, and"
            " triggers sharing a group split its entries between them: expected a group: of"
            " its own for this trigger"
        )

    return ("redis group", config.url, stream, group), where, clash


def source(spec: Mapping[str, Any]) -> str:
    """The `source` column: the stream, and the group when the file names one."""
    group = spec.get("group")
    return f"{spec['stream']} (group {group})" if group else str(spec["stream"])


def stuck_table(
    state: Mapping[str, Any], *, now: float | None = None
) -> tuple[list[str], list[list[object]]]:
    """`gaia triggers show`: a row per stuck entry."""
    at = time.time() if now is None else now
    rows: list[list[object]] = [
        [
            stuck["entry"],
            f"{max(0.0, at - stuck['since']):.0f}s",
            f"{max(0.0, stuck['retry_at'] - at):.0f}s",
            stuck["error"],
        ]
        for stuck in state.get("stuck_entries", [])
    ]
    return STUCK_HEADERS, rows
