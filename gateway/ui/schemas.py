"""The JSON shape of `GET /v1/dashboard` and of its stream's events, for /openapi.json."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from gateway.admin.migrate_schemas import MigrateStatusView
from gateway.admin.schemas import (
    AliasChangeView,
    AliasView,
    PoolView,
    RevisionView,
    SpecView,
    TriggerView,
    _View,
)


class DashboardAliasView(AliasView):
    history: list[AliasChangeView] = Field(description="the newest changes, oldest first")
    rollback_to: SpecView | None = Field(
        description="the traffic a rollback restores (the last change's `from`); null when"
        " there is nothing to roll back to"
    )


class DashboardFunctionView(_View):
    name: str
    latest: int | None
    revisions: list[RevisionView]
    aliases: list[DashboardAliasView]


class DashboardPoolView(PoolView):
    function: str
    number: int
    starting: int
    busy: int = Field(description="ready instances running at least one invocation")
    cold_starts: int = Field(description="instances started since the pool was made")
    draining: int = Field(description="instances finishing their invocations before they stop")


class DashboardTriggerView(TriggerView):
    source: str = Field(description="where its events come from, as `gaia triggers` shows it")
    target: str = Field(description="whom it delivers to: fn:alias or fn@N")
    runs: list[dict[str, Any]] | None = Field(
        default=None, description="cron: the newest runs, newest first"
    )


class SampleView(_View):
    t: float = Field(description="the end of the interval, epoch seconds")
    requests_per_s: float
    error_ratio: float | None = Field(description="5xx answers / requests; null: no request")
    p50_ms: float | None
    p95_ms: float | None


class OverviewView(_View):
    """What the `overview` event carries: everything but the samples."""

    functions: list[DashboardFunctionView]
    pools: list[DashboardPoolView]
    triggers: list[DashboardTriggerView]
    migration: MigrateStatusView | None = Field(
        description="`GET /v1/migrate`'s answer; null without a `legacy:` section"
    )


class DashboardView(OverviewView):
    sample_interval_s: float
    window_s: float
    series: dict[str, list[SampleView]] = Field(
        description="per revision (`fn@3`), its samples over the window, oldest first"
    )
