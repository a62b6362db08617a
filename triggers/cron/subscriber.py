"""Run a function on a schedule: each tick once, across replicas, with a history.

The loop sleeps until the next tick (plus jitter), then takes every tick that came due
since the last one: ticks noticed later than the misfire grace are recorded as missed,
several due at once run once when `coalesce` is on, and each remaining tick is claimed
in the ledger; the replica whose claim wins runs it. `overlap` decides what happens
when the previous run is still going on any replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from runtime_adapters.base import InvocationResult, RuntimeAdapterError
from triggers.base import CloudEvent, Dispatch, SharedRedis, Subscriber, TriggerContext
from triggers.cron.config import CronTriggerConfig
from triggers.cron.ledger import Ledger, LocalLedger, RedisLedger, Run
from triggers.cron.schedule import Schedule, parse_schedule, ticks_between
from triggers.cron.state import CronState
from triggers.events import iso_time
from triggers.pipeline import Delivered, DeliveryStuck, Pipeline, RetryPolicy, invoke_attempt

log = logging.getLogger("gaia.triggers.cron")

TICK_TYPE = "dev.gaia.cron.tick"
_QUEUE_POLL_S = 0.05
_MARK_EVERY_S = 5.0
_RESULT_PREVIEW = 512  # bytes of the return value kept in the history


class CronSubscriber(Subscriber):
    kind = "cron"

    def __init__(
        self,
        *,
        trigger_id: str,
        function: str,
        config: CronTriggerConfig,
        dispatch: Dispatch,
        replica: str,
        ledger: Ledger | None = None,
        shared_redis: SharedRedis | None = None,
        clock: Any = time.time,
    ) -> None:
        self.trigger_id = trigger_id
        self.config = config
        self._schedule: Schedule = parse_schedule(config.schedule, timezone=config.timezone)
        self._dispatch = dispatch
        self._replica = replica
        self._ledger = ledger or _ledger(config, shared_redis)
        self._clock = clock
        self._pipeline: Pipeline[Run] = Pipeline(
            invoke=self._invoke,
            dead_letter=None,
            policy=RetryPolicy(
                max_attempts=config.retries + 1,
                backoff=config.backoff.policy(),
            ),
        )
        self._task: asyncio.Task[None] | None = None
        self._runs: set[asyncio.Task[None]] = set()
        self._queue = asyncio.Lock()  # `overlap: queue` on this replica
        self._status = "starting"
        self._error: str | None = None
        self._next: float | None = None
        self._last_delay_s: float | None = None
        self._counts = {"succeeded": 0, "failed": 0, "skipped": 0, "missed": 0, "lost_race": 0}

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name=f"cron {self.trigger_id}")

    async def stop(self, *, timeout_s: float) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
        if self._runs:
            await asyncio.wait(set(self._runs), timeout=timeout_s)
        for task in self._runs:
            task.cancel()
        await self._ledger.aclose()
        self._status = "stopped"

    async def _loop(self) -> None:
        # A tick that fell due just before the start may still run within the grace.
        last = self._now() - timedelta(seconds=self.config.misfire_grace_s)
        self._status = "running"
        while True:
            tick = self._schedule.next(last)
            self._next = tick.timestamp()
            jitter = random.uniform(0, self.config.jitter_s) if self.config.jitter_s else 0.0
            await asyncio.sleep(max(0.0, self._next + jitter - self._clock()))
            now = self._now()
            due = ticks_between(self._schedule, last, now)
            if not due:
                continue  # woke early: the clock moved backwards
            last = due[-1]
            self._start_runs(due, now)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _start_runs(self, due: list[datetime], now: datetime) -> None:
        grace = timedelta(seconds=self.config.misfire_grace_s + self.config.jitter_s)
        late = [tick for tick in due if now - tick > grace]
        on_time = [tick for tick in due if now - tick <= grace]
        if self.config.coalesce and len(on_time) > 1:
            late, on_time = late + on_time[:-1], on_time[-1:]
        for tick in late:
            self._spawn(self._record_missed(tick))
        if on_time:
            # Catching up without coalescing: one after another, each as its own run.
            self._spawn(self._run_in_order(on_time))

    async def _run_in_order(self, ticks: list[datetime]) -> None:
        for tick in ticks:
            await self._run(tick)

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    # -- one tick ----------------------------------------------------------------------

    def _new_run(self, tick: datetime, outcome: Any) -> Run:
        return Run(
            run_id=f"{self.trigger_id}@{iso_time(tick.timestamp())}",
            scheduled=tick.timestamp(),
            replica=self._replica,
            outcome=outcome,
        )

    async def _record_missed(self, tick: datetime) -> None:
        run = self._new_run(tick, "missed")
        run.error = f"noticed {self._clock() - run.scheduled:.3f}s after its time"
        if await self._guarded_claim(run):
            self._counts["missed"] += 1
            log.warning("%s: missed the tick of %s", self.trigger_id, iso_time(run.scheduled))

    async def _guarded_claim(self, run: Run) -> bool:
        try:
            won = await self._ledger.claim(self.trigger_id, run)
        except Exception as exc:  # the lease store is down: no replica can decide
            self._error = f"cannot claim the tick: {exc}"
            log.error("%s: cannot claim %s: %s", self.trigger_id, run.run_id, exc)
            return False
        self._error = None
        if not won:
            self._counts["lost_race"] += 1
        return won

    async def _run(self, tick: datetime) -> None:
        run = self._new_run(tick, "running")
        run.started = self._clock()
        if not await self._guarded_claim(run):
            return
        overlap = self.config.overlap
        if overlap == "skip" and await self._ledger.running(self.trigger_id):
            run.outcome, run.ended = "skipped", self._clock()
            run.error = "the previous run was still going"
            self._counts["skipped"] += 1
            await self._ledger.update(self.trigger_id, run)
            return
        async with self._queue if overlap == "queue" else contextlib.nullcontext():
            if overlap == "queue":
                # The previous run may be on another replica: only the ledger knows.
                while await self._ledger.running(self.trigger_id):  # noqa: ASYNC110
                    await asyncio.sleep(_QUEUE_POLL_S)
                run.started = self._clock()
            await self._execute(run)

    async def _execute(self, run: Run) -> None:
        if run.started is not None:
            self._last_delay_s = run.started - run.scheduled
        with contextlib.suppress(Exception):  # without the mark, `skip` may run twice
            await self._ledger.mark_running(self.trigger_id, run.run_id, running=True)
        marker = asyncio.create_task(self._keep_marked(run.run_id))
        try:
            outcome = await self._pipeline.deliver(run)
        except DeliveryStuck as exc:
            run.outcome, run.error = "failed", str(exc)
        else:
            if isinstance(outcome, Delivered):
                run.outcome, run.attempts = "succeeded", outcome.attempts
                body = outcome.result.body[:_RESULT_PREVIEW]
                run.result = body.decode("utf-8", "replace") if body else None
        finally:
            marker.cancel()
            await asyncio.wait([marker])
            with contextlib.suppress(Exception):
                await self._ledger.mark_running(self.trigger_id, run.run_id, running=False)
        run.ended = self._clock()
        self._counts[run.outcome] += 1
        if run.outcome == "failed":
            log.error("%s: run %s failed: %s", self.trigger_id, run.run_id, run.error)
        with contextlib.suppress(Exception):
            await self._ledger.update(self.trigger_id, run)

    async def _keep_marked(self, run_id: str) -> None:
        """Refresh the mark while the run goes on, so a replica that dies mid-run stops
        counting as running once its mark goes stale."""
        while True:
            await asyncio.sleep(_MARK_EVERY_S)
            with contextlib.suppress(Exception):
                await self._ledger.refresh_running(self.trigger_id, run_id)

    async def _invoke(self, run: Run, attempt: int) -> InvocationResult:
        run.attempts = attempt
        try:
            return await invoke_attempt(self._dispatch, self._event(run), attempt=attempt, unit=run)
        except RuntimeAdapterError as exc:
            run.error = exc.message
            raise

    def _event(self, run: Run) -> CloudEvent:
        return {
            "specversion": "1.0",
            "id": run.run_id,
            "source": f"gaia/cron/{self.trigger_id}",
            "type": TICK_TYPE,
            "subject": self.config.schedule,
            "time": iso_time(run.scheduled),
            "data": self.config.payload,
            "replica": self._replica,
        }

    # -- state -------------------------------------------------------------------------

    def state(self) -> CronState:
        return CronState(
            status=self._status,
            error=self._error,
            schedule=self.config.schedule,
            timezone=self.config.timezone,
            lease=self._ledger.kind,
            replica=self._replica,
            next=iso_time(self._next) if self._next else None,
            in_flight=len(self._runs),
            processed=self._counts["succeeded"],
            failed=self._counts["failed"],
            skipped=self._counts["skipped"],
            missed=self._counts["missed"],
            run_elsewhere=self._counts["lost_race"],
            last_delay_s=self._last_delay_s,
        )

    async def history(self, *, limit: int) -> list[dict[str, Any]]:
        return [run.to_dict() for run in await self._ledger.history(self.trigger_id, limit=limit)]


def _ledger(config: CronTriggerConfig, shared: SharedRedis | None) -> Ledger:
    """The trigger's own `lease`; else, in cluster mode, the store's Redis, so that the
    replicas run each tick once without being told where to agree; else this gateway's
    memory."""
    if config.lease:
        return RedisLedger(config.lease)
    if shared is not None:
        return RedisLedger(shared.url, prefix=f"{shared.prefix}:cron")
    return LocalLedger()


def build(config: CronTriggerConfig, context: TriggerContext) -> CronSubscriber:
    return CronSubscriber(
        trigger_id=context.trigger_id,
        function=context.function,
        config=config,
        dispatch=context.dispatch,
        replica=context.replica,
        shared_redis=context.shared_redis,
    )
