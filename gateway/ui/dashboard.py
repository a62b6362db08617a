"""The dashboard's server side: the sampler's task, the followers, and their stream.

A config change (deploy, alias set, rollback, apply) reaches every follower as an
`overview` event as soon as the control plane commits it; each sampler round sends a
`sample` event and a fresh `overview` (pools and trigger state move on their own).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

from gateway.control import ControlPlane
from gateway.store import StoredState
from gateway.subscriptions import Subscriptions
from gateway.ui.counters import RevisionCounters, RevisionId
from gateway.ui.feed import CLOSE, Feed, event
from gateway.ui.sampler import INTERVAL_S, WINDOW_S, Sample, Sampler
from gateway.ui.views import Views, samples_view, series_view

OVERVIEW = "overview"
SAMPLE = "sample"
# A comment line this often keeps proxies from closing a quiet stream, and finds a
# client that left.
KEEPALIVE_S = 15.0


def _json(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


class Dashboard:
    def __init__(
        self,
        *,
        control: ControlPlane,
        subscriptions: Subscriptions,
        counters: RevisionCounters,
        interval_s: float = INTERVAL_S,
        window_s: float = WINDOW_S,
    ) -> None:
        self._control = control
        self.views = Views(control=control, subscriptions=subscriptions)
        self.sampler = Sampler(counters, interval_s=interval_s, window_s=window_s)
        self.feed = Feed()
        self._latest: dict[RevisionId, Sample] = {}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._control.add_listener(self._changed)
        self._task = asyncio.create_task(self.sampler.run(self._sampled))

    async def aclose(self) -> None:
        self.feed.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _changed(self, state: StoredState) -> None:
        self.feed.publish(OVERVIEW)

    def _sampled(self, samples: dict[RevisionId, Sample]) -> None:
        self._latest = samples
        self.feed.publish(SAMPLE)

    async def view(self) -> dict[str, object]:
        return {**await self.views.overview(), **self._series()}

    def _series(self) -> dict[str, object]:
        return {
            "sample_interval_s": self.sampler.interval_s,
            "window_s": self.sampler.window_s,
            "series": series_view(self.sampler.series()),
        }

    async def stream(self) -> AsyncIterator[bytes]:
        """Server-Sent Events until the client leaves or the gateway stops."""
        follower = self.feed.follow()
        try:
            yield event(OVERVIEW, _json(await self.views.overview()))
            yield event("series", _json(self._series()))
            while True:
                topics = await follower.next(KEEPALIVE_S)
                if CLOSE in topics:
                    return
                if not topics:
                    yield b": keep-alive\n\n"
                    continue
                if SAMPLE in topics:
                    yield event(SAMPLE, _json({"samples": samples_view(self._latest)}))
                yield event(OVERVIEW, _json(await self.views.overview()))
        finally:
            self.feed.leave(follower)
