"""What one cron trigger runs and when (gaia.yaml `- cron: {...}`).

Each key is declared once here, with its default and its check (the schedule is
checked by `triggers.cron.schedule`, the scheduler that runs it); the store keeps
`to_dict()` and the gateway rebuilds the model with `from_dict()`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Literal

from configkit.issues import Issues
from configkit.leaves import Boolean, choice, durations, optional, parsed, redis_url
from configkit.model import ConfigModel, key
from configkit.words import describe, join
from triggers.retrying import BackoffConfig, Retries

Overlap = Literal["skip", "allow", "queue"]
OVERLAPS: tuple[Overlap, ...] = ("skip", "allow", "queue")
# A payload is put into every event: bounded, so a YAML alias bomb cannot explode.
MAX_PAYLOAD_VALUES = 10_000
MAX_PAYLOAD_DEPTH = 64
_JSON_VALUE = (
    "a JSON value (a mapping with string keys, a list, a string, a number, true, false or null)"
)


def _schedule(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(
            "expected a schedule like '*/5 * * * *' (minute hour day month weekday),"
            f" '@every 30s' or '@hourly', got {describe(raw)}"
        )
    # Imported here: APScheduler loads only in a gateway whose file has a cron trigger.
    # Whether a schedule is valid does not depend on its zone, which is checked apart.
    from triggers.cron.schedule import parse_schedule

    parse_schedule(raw)
    return raw


def _timezone(raw: object) -> str:
    if not isinstance(raw, str):
        raise ValueError(
            f"expected an IANA time zone name like UTC or Europe/Berlin, got {describe(raw)}"
        )
    from triggers.cron.schedule import parse_timezone

    parse_timezone(raw)
    return raw


class _TooLarge(Exception):
    pass


def _describe_non_json(value: object) -> str:
    if isinstance(value, date):  # also a datetime: YAML reads 2026-01-01 as a date
        return f"the date {value.isoformat()} (quote it to pass it as a string)"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, float):
        return f"{value!r} (JSON numbers are finite)"
    return f"{type(value).__name__} {value!r}"


def json_payload(raw: object) -> object:
    """Any value JSON can carry, copied out of the YAML (so anchors share nothing);
    each value JSON cannot carry is an issue at its own path."""
    values = 0
    inside: set[int] = set()  # the mappings and lists being copied, for cycles
    issues: list[tuple[str, str]] = []

    def copy(value: object, where: str, depth: int) -> object:
        nonlocal values
        values += 1
        if values > MAX_PAYLOAD_VALUES or depth >= MAX_PAYLOAD_DEPTH:
            raise _TooLarge
        if value is None or isinstance(value, str | bool | int):
            return value
        if isinstance(value, float) and math.isfinite(value):
            return value
        if not isinstance(value, Mapping | list):
            issues.append((where, f"expected {_JSON_VALUE}, got {_describe_non_json(value)}"))
            return None
        if id(value) in inside:
            issues.append((where, f"expected {_JSON_VALUE}, got a YAML alias of itself"))
            return None
        inside.add(id(value))
        copied: list[object] | dict[str, object]
        if isinstance(value, list):
            copied = [copy(v, f"{where}[{n}]", depth + 1) for n, v in enumerate(value)]
        else:
            copied = {}
            for name, item in value.items():
                if isinstance(name, str):
                    copied[name] = copy(item, join(where, name), depth + 1)
                else:
                    issues.append((join(where, str(name)), f"expected a string key, got {name!r}"))
        inside.discard(id(value))
        return copied

    try:
        copied = copy(raw, "", 0)
    except _TooLarge:
        raise ValueError(
            f"expected at most {MAX_PAYLOAD_VALUES} values nested at most"
            f" {MAX_PAYLOAD_DEPTH} deep, got more"
        ) from None
    if issues:
        raise Issues(*issues)
    return copied


class CronTriggerConfig(ConfigModel):
    # 5 fields, 6 with seconds first, `@every 30s`, or `@hourly`, `@daily`, ...
    schedule: Annotated[str, parsed(_schedule)]
    timezone: Annotated[str, parsed(_timezone)] = "UTC"
    payload: Annotated[object, parsed(json_payload)] = None  # any JSON value; the event's `data`
    # A tick noticed later than this after its time is recorded as missed, not run.
    misfire_grace_s: Annotated[float, parsed(durations(3600.0, minimum=0.0))] = key(
        "misfire_grace", default=1.0
    )
    # Several ticks missed at once (the gateway was stopped or stalled) run once.
    coalesce: Boolean = True
    overlap: Annotated[Overlap, parsed(choice(OVERLAPS))] = "skip"  # previous run still going
    # A random delay up to this, after the scheduled time.
    jitter_s: Annotated[float, parsed(durations(3600.0, minimum=0.0))] = key("jitter", default=0.0)
    # redis://host:port/db: replicas given the same trigger run each tick once.
    lease: Annotated[str | None, parsed(optional(redis_url))] = None
    retries: Retries = 2
    backoff: BackoffConfig = BackoffConfig()
