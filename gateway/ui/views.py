"""The dashboard's data, from what the control plane, the pools and the triggers hold
now: nothing here touches the data plane."""

from __future__ import annotations

import dataclasses

from gateway.admin.migrate import MigrateRoutes
from gateway.admin.views import alias_view, history_view, live_trigger_view, revision_view
from gateway.control import ControlPlane
from gateway.snapshot import trigger_target
from gateway.store import AliasRecord
from gateway.subscriptions import Subscriptions
from gateway.ui.counters import RevisionId
from gateway.ui.sampler import Sample
from triggers import registry as trigger_kinds

# Enough of an alias's history to see the last few releases and what a rollback restores.
HISTORY = 10
# The last cron runs shown per trigger.
RUNS = 5


# PoolStatus fields the page does not show: the key it names otherwise, and the live
# histograms /metrics exposes (gateway_pool_cold_start_seconds, ..._queue_wait_seconds).
_NOT_SHOWN = frozenset({"key", "start_seconds", "queue_wait"})


class Views:
    def __init__(self, *, control: ControlPlane, subscriptions: Subscriptions) -> None:
        self._control = control
        self._subscriptions = subscriptions
        self._migrate = MigrateRoutes(control=control)

    async def overview(self) -> dict[str, object]:
        return {
            "functions": self.functions(),
            "pools": self.pools(),
            "triggers": await self.triggers(),
            "migration": self._migrate.status_view() if self._control.legacy else None,
        }

    def functions(self) -> list[dict[str, object]]:
        state, snapshot = self._control.state, self._control.snapshot
        return [
            {
                "name": f.name,
                "latest": snapshot.latest.get(f.name),
                "revisions": [
                    revision_view(r, snapshot) for r in state.revisions if r.function == f.name
                ],
                "aliases": [self._alias(a) for a in state.aliases if a.function == f.name],
            }
            for f in state.functions
        ]

    def _alias(self, record: AliasRecord) -> dict[str, object]:
        changes = self._control.history(record.function, record.name)
        view = alias_view(record, self._control.snapshot)
        view["history"] = [history_view(c) for c in changes[-HISTORY:]]
        last = changes[-1] if changes else None
        view["rollback_to"] = last.before.to_dict() if last and last.before else None
        return view

    def pools(self) -> list[dict[str, object]]:
        statuses = [
            pool for runtime in self._control.runtimes.values() for pool in runtime.status()
        ]
        statuses.sort(key=lambda pool: (pool.key.function, pool.key.revision))
        return [
            {
                **{
                    f.name: getattr(pool, f.name)
                    for f in dataclasses.fields(pool)
                    if f.name not in _NOT_SHOWN
                },
                "revision": str(pool.key),
                "function": pool.key.function,
                "number": pool.key.revision,
            }
            for pool in statuses
        ]

    async def triggers(self) -> list[dict[str, object]]:
        views = []
        for record in self._control.state.triggers:
            kind = trigger_kinds.kind(record.kind)
            view = live_trigger_view(record, self._subscriptions)
            view["source"] = kind.source(record.spec)
            view["target"] = str(trigger_target(record.function, record.spec))
            if kind.history:
                view["runs"] = await self._subscriptions.history_of(record.id, limit=RUNS)
            views.append(view)
        return views


def series_view(
    series: dict[RevisionId, list[Sample]],
) -> dict[str, list[dict[str, float | None]]]:
    return {_name(key): [s.to_dict() for s in samples] for key, samples in sorted(series.items())}


def samples_view(samples: dict[RevisionId, Sample]) -> dict[str, dict[str, float | None]]:
    return {_name(key): s.to_dict() for key, s in sorted(samples.items())}


def _name(key: RevisionId) -> str:
    return f"{key[0]}@{key[1]}"
