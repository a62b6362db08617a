"""Consume Kafka topics into a function: at least once, in order, nothing skipped.

The fetch loop hands each record (or batch) to the shared Pipeline through a
KeyedRunner, which keeps the configured ordering and bounds the work in flight. Each
partition tracks which offsets finished; a commit task commits only past contiguous
finished offsets. When partitions are revoked, their in-flight work gets the drain
timeout to finish and what finished is committed before they go. A record that can be
neither processed nor dead-lettered makes its partition stuck: it is paused at that
record, never skipped, and tried again after the longest backoff. With `ordering:
partition` (no batches) the records a fetch brought for a partition go to one worker
together as an ordered run, which stops at the first failure.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Hashable, Sequence
from functools import partial
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from runtime_adapters.base import InvocationResult, RuntimeAdapterError
from triggers.base import CloudEvent, Dispatch, TriggerContext
from triggers.connected import ConnectedSubscriber
from triggers.events import MESSAGE
from triggers.kafka.config import KafkaTriggerConfig
from triggers.kafka.events import (
    Record,
    batch_event,
    failed_items,
    message_event,
    message_events,
    message_id,
)
from triggers.kafka.outputs import Outputs
from triggers.kafka.partition import Partition, Stuck, Unit
from triggers.kafka.state import KafkaState
from triggers.ordering import KeyedRunner
from triggers.pipeline import (
    DeadLettered,
    Delivered,
    DeliveryStuck,
    Failure,
    OutputFailed,
    Pipeline,
    RetryPolicy,
    failure_of,
    invoke_attempt,
)

log = logging.getLogger("gaia.triggers.kafka")

_FETCH_TIMEOUT_MS = 200
_FETCH_MAX_RECORDS = 500
# `ordering: partition`: at most this many records of a partition per ordered run, and
# about _MAX_BUFFERED records fetched and waiting in all (then fetching waits), shared
# equally by the partitions held, with at least two runs' worth each.
_RUN_MAX = 100
_MAX_BUFFERED = 5000
# A trickle of records, each running a partition dry, commits at most this often.
_COMMIT_GAP_S = 0.02
_COMMIT_TIMEOUT_S = 30.0  # a commit hangs while the broker is down


class KafkaSubscriber(ConnectedSubscriber):
    kind = "kafka"
    broker = "Kafka"
    connect_errors = (KafkaError, OSError)

    def __init__(
        self,
        *,
        trigger_id: str,
        function: str,
        config: KafkaTriggerConfig,
        dispatch: Dispatch,
        drain_timeout_s: float = 10.0,
        commit_interval_s: float = 0.2,
    ) -> None:
        super().__init__(trigger_id=trigger_id, drain_timeout_s=drain_timeout_s)
        self.config = config
        self.group = config.group_for(function)
        self._dispatch = dispatch
        self._commit_interval_s = commit_interval_s
        self._source = f"kafka://{config.brokers[0]}"
        backoff = config.backoff.policy()
        self._pipeline: Pipeline[Unit] = Pipeline(
            invoke=self._invoke,
            dead_letter=self._dead_letter if config.dead_letter else None,
            policy=RetryPolicy(max_attempts=config.retries + 1, backoff=backoff),
            remaining=self._remaining if config.batch else None,
        )
        self._runner = KeyedRunner(max_in_flight=config.max_in_flight)
        # One record after another per partition: they go to a worker in ordered runs.
        self._in_runs = config.ordering == "partition" and config.batch is None
        self._commit_soon = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._partitions: dict[TopicPartition, Partition] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._outputs: Outputs | None = None
        self._processed = 0
        self._retried = 0
        self._dead_lettered = 0
        self._stuck_times = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def _disconnect(self, *, timeout_s: float) -> None:
        """Let in-flight work finish within `timeout_s`, commit it, leave the group."""
        parts = list(self._partitions.values())
        for part in parts:
            part.accepting = False
        await self._drain(parts, timeout_s=timeout_s)
        self._runner.cancel()
        consumer, producer = self._consumer, self._producer
        if consumer is not None:
            await self._commit(parts)
            self._partitions.clear()
            await consumer.stop()  # leaves the group: its partitions move on now
        if producer is not None:
            await producer.stop()
        self._consumer = self._producer = self._outputs = None

    async def _connect(self) -> None:
        config = self.config
        session_ms = int(config.session_timeout_s * 1000)
        consumer = AIOKafkaConsumer(
            bootstrap_servers=list(config.brokers),
            group_id=self.group,
            client_id=f"gaia {self.trigger_id}",
            enable_auto_commit=False,
            auto_offset_reset=config.start,
            session_timeout_ms=session_ms,
            heartbeat_interval_ms=max(100, session_ms // 4),
            request_timeout_ms=max(40_000, session_ms + 5_000),
        )
        consumer.subscribe(list(config.topics), listener=_Rebalance(self))
        try:
            await consumer.start()
        except BaseException:
            await consumer.stop()
            raise
        if config.dead_letter or config.response_topic:
            producer = AIOKafkaProducer(
                bootstrap_servers=list(config.brokers), client_id=f"gaia {self.trigger_id}"
            )
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                await consumer.stop()
                raise
            self._producer = producer
            self._outputs = Outputs(producer=producer, trigger_id=self.trigger_id)
        self._consumer = consumer

    # -- fetching ----------------------------------------------------------------------

    async def _consume(self) -> None:
        log.info("%s: consuming %s as group %s", self.trigger_id, self.config.topics, self.group)
        committer = asyncio.create_task(self._commit_loop())
        try:
            await self._fetch_loop()
        finally:
            committer.cancel()

    async def _fetch_loop(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        while not self._stopping.is_set():
            partitions: list[TopicPartition] = []  # none named: every assigned one
            if self._in_runs and self._partitions:
                partitions = self._with_room()
                if not partitions:  # every buffer is full: wait until a run takes some
                    self._room.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._room.wait(), _FETCH_TIMEOUT_MS / 1000)
                    continue
            try:
                fetched = await consumer.getmany(
                    *partitions, timeout_ms=self._fetch_timeout_ms(), max_records=_FETCH_MAX_RECORDS
                )
            except KafkaError as exc:
                self._error = str(exc)
                log.warning("%s: fetch failed (%s); retrying", self.trigger_id, exc)
                await self._pause(1.0)
                continue
            self._error = None
            for tp, records in fetched.items():
                if records:
                    await self._take(tp, records)
            if self.config.batch:
                await self._flush_due()

    def _with_room(self) -> list[TopicPartition]:
        """Ordered runs: the partitions whose buffers have room. Each has an equal share
        of the budget, so one partition's backlog never takes the others' room: their
        runs then reach the worker side by side rather than one partition at a time."""
        share = max(2 * _RUN_MAX, _MAX_BUFFERED // len(self._partitions))
        return [tp for tp, part in self._partitions.items() if len(part.buffer) < share]

    def _fetch_timeout_ms(self) -> int:
        due = [p.flush_at for p in self._partitions.values() if p.buffer and p.flush_at]
        if not due:
            return _FETCH_TIMEOUT_MS
        wait_ms = (min(due) - time.monotonic()) * 1000
        # At least 1 ms: a zero-timeout fetch returns at once, and a loop of them would
        # keep everything else on the event loop from running.
        return max(1, min(_FETCH_TIMEOUT_MS, int(wait_ms)))

    async def _take(self, tp: TopicPartition, records: list[Record]) -> None:
        part = self._partitions.get(tp)
        if part is None or not part.accepting:
            return  # revoked or reset meanwhile: these records will be fetched again
        if part.first_seen is None:
            part.first_seen = records[0].offset
        part.tracker.start_all([record.offset for record in records])
        batch = self.config.batch
        if self._in_runs:
            part.buffer.extend(records)
            if not part.draining:
                part.draining = True
                await self._runner.submit(part.tp, partial(self._drain_partition, part))
            return
        if batch is None:
            for record in records:
                await self._submit(part, Unit(records=[record]))
                if not part.accepting:
                    return
            return
        part.buffer.extend(records)
        while len(part.buffer) >= batch.size and part.accepting:
            chunk, part.buffer = part.buffer[: batch.size], part.buffer[batch.size :]
            await self._submit(part, Unit(records=chunk))
        if not part.buffer:
            part.flush_at = None  # a window for nothing would make the fetch loop spin
        elif part.flush_at is None:
            part.flush_at = time.monotonic() + batch.window_s

    async def _flush_due(self) -> None:
        now = time.monotonic()
        for part in list(self._partitions.values()):
            if part.buffer and part.flush_at is not None and part.flush_at <= now:
                chunk, part.buffer, part.flush_at = part.buffer, [], None
                if part.accepting:
                    await self._submit(part, Unit(records=chunk))

    async def _submit(self, part: Partition, unit: Unit) -> None:
        await self._runner.submit(self._order_key(part, unit), partial(self._handle, part, unit))

    def _order_key(self, part: Partition, unit: Unit) -> Hashable:
        ordering = self.config.ordering
        partition: Hashable = part.tp
        if ordering == "partition" or (ordering == "key" and len(unit.records) > 1):
            return partition
        if ordering == "key":
            return (partition, unit.records[0].key)
        return unit  # `none`: every unit runs on its own

    # -- delivering --------------------------------------------------------------------

    async def _drain_partition(self, part: Partition) -> None:
        """Hand a partition's fetched records to the function in ordered runs."""
        try:
            while part.buffer and part.accepting:
                chunk = part.buffer[:_RUN_MAX]
                del part.buffer[:_RUN_MAX]
                self._room.set()
                rest = await self._run_in_order(part, chunk)
                if rest and part.accepting:  # not run: first in line for the next run
                    part.buffer[:0] = rest
        finally:
            part.draining = False
            if not part.accepting:
                part.buffer.clear()
                self._room.set()
            elif part.dry:
                self._commit_soon.set()

    async def _run_in_order(self, part: Partition, chunk: list[Record]) -> list[Record]:
        """One ordered run: the records that succeed are done; the first that fails is
        retried and dead-lettered on its own, as any record; those after it did not run
        and are returned."""
        with part.working():
            events = message_events(chunk, source=self._source)
            dispatched = await self._dispatch.many(
                events,
                request_ids=[f"{event['id']}#1" for event in events],
                sticky_keys=[_text_key(event) for event in events],
            )
            outcomes = dispatched.outcomes
            done = _succeeded(outcomes)
            failure = None
            if done < len(outcomes):
                failure = failure_of(outcomes[done], attempt=1)
            elif not outcomes:  # a run that ran nothing would loop forever
                failure = Failure(error="the ordered run ran nothing", kind="EmptyRun", attempts=1)
            if self.config.response_topic:
                for n in range(done):
                    answered = outcomes[n]
                    assert isinstance(answered, InvocationResult)
                    if (failure := await self._answer(chunk[n], answered)) is not None:
                        done = n
                        break
            part.tracker.finish_all([record.offset for record in chunk[:done]])
            self._processed += done
            if failure is not None:
                unit = Unit(records=[chunk[done]], revision=dispatched.revision)
                try:
                    delivered = await self._pipeline.deliver(unit, after=failure)
                except DeliveryStuck as exc:
                    self._stick(part, unit, exc)
                    return []
                self._count(unit, delivered)
                part.tracker.finish(chunk[done].offset)
                done += 1
            return chunk[done:]

    async def _answer(self, record: Record, result: InvocationResult) -> Failure | None:
        """Produce a run's answer to the response topic; its failure fails the record."""
        if not result.body:
            return None
        try:
            await self._respond(result, key=record.key, source_id=message_id(record))
        except OutputFailed as exc:
            return failure_of(exc, attempt=1)
        return None

    async def _handle(self, part: Partition, unit: Unit) -> None:
        if not part.accepting:
            return  # left over from a revoked or reset assignment: the next one redoes it
        with part.working():
            try:
                outcome = await self._pipeline.deliver(unit)
            except DeliveryStuck as exc:
                self._stick(part, unit, exc)
                return
            self._count(unit, outcome)
            part.tracker.finish_all([record.offset for record in unit.records])
        if part.dry:
            self._commit_soon.set()

    def _count(self, unit: Unit, outcome: Delivered | DeadLettered) -> None:
        if isinstance(outcome, DeadLettered):
            dead, attempts = unit.dead_lettered, outcome.failure.attempts
        else:
            dead, attempts = 0, outcome.attempts
        self._processed += len(unit.records) - dead
        self._retried += attempts - 1

    async def _invoke(self, unit: Unit, attempt: int) -> InvocationResult:
        records = unit.records
        if len(records) == 1 and self.config.batch is None:
            record = records[0]
            event = message_event(record, source=self._source)
            sticky = _text_key(event)
        else:
            event = batch_event(records, source=self._source)
            sticky = None
        result = await invoke_attempt(
            self._dispatch, event, attempt=attempt, unit=unit, sticky_key=sticky
        )
        if result.status < 500 and result.body and self.config.response_topic:
            if len(records) == 1:
                key, source_id = records[0].key, message_id(records[0])
            else:
                key, source_id = None, str(event["id"])
            await self._respond(result, key=key, source_id=source_id)
        return result

    async def _respond(
        self, result: InvocationResult, *, key: bytes | None, source_id: str
    ) -> None:
        topic = self.config.response_topic
        assert topic is not None and self._outputs is not None
        await self._outputs.respond(topic, result, key=key, source_id=source_id)

    def _remaining(self, unit: Unit, result: InvocationResult) -> Unit | None:
        failed = failed_items(unit.records, result)
        if not failed:
            return None
        return Unit(records=failed, revision=unit.revision, origin=unit.origin or unit)

    async def _dead_letter(self, unit: Unit, failure: Failure) -> None:
        topic = self.config.dead_letter
        assert topic is not None and self._outputs is not None
        await self._outputs.dead_letter(topic, unit.records, failure, revision=unit.revision)
        (unit.origin or unit).dead_lettered += len(unit.records)
        self._dead_lettered += len(unit.records)
        log.warning(
            "%s: dead-lettered %d record(s) from %s/%d at %d to %s after %d attempt(s): %s",
            self.trigger_id,
            len(unit.records),
            unit.records[0].topic,
            unit.records[0].partition,
            unit.records[0].offset,
            topic,
            failure.attempts,
            failure.error,
        )

    def _stick(self, part: Partition, unit: Unit, exc: DeliveryStuck) -> None:
        """Stop the partition at its oldest unfinished record and try again later."""
        if not part.accepting or self._consumer is None:
            return
        offset = unit.records[0].offset
        resume_from = part.tracker.oldest_unfinished
        resume_from = offset if resume_from is None else min(resume_from, offset)
        now = time.time()
        pause_s = self.config.backoff.max_s
        part.accepting = False
        fresh = Partition(
            tp=part.tp,
            committed=part.committed,
            carried=part.to_commit(),
            first_seen=part.first_seen,
            stuck=Stuck(offset=offset, error=str(exc), since=now, retry_at=now + pause_s),
        )
        self._partitions[part.tp] = fresh
        self._stuck_times += 1
        log.error(
            "%s: partition %s/%d stopped at offset %d, retrying in %.1fs: %s",
            self.trigger_id,
            part.tp.topic,
            part.tp.partition,
            offset,
            pause_s,
            exc,
        )
        self._consumer.seek(part.tp, resume_from)
        self._consumer.pause(part.tp)
        asyncio.get_running_loop().create_task(self._unstick_later(fresh, pause_s))

    async def _unstick_later(self, part: Partition, seconds: float) -> None:
        await self._pause(seconds)
        if self._partitions.get(part.tp) is part and self._consumer is not None:
            part.stuck = None
            self._consumer.resume(part.tp)

    # -- committing and rebalancing ----------------------------------------------------

    async def _commit_loop(self) -> None:
        """Commit every interval while records keep coming, and as soon as a partition
        has run dry (a burst is done): a crash then redelivers little, and the lag
        shows 0 when there is nothing left to do."""
        soon = self._commit_soon
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(soon.wait(), timeout=self._commit_interval_s)
            soon.clear()
            await self._commit(list(self._partitions.values()))
            await asyncio.sleep(_COMMIT_GAP_S)

    async def _commit(self, parts: list[Partition]) -> None:
        offsets = {part.tp: offset for part in parts if (offset := part.to_commit()) is not None}
        if not offsets or self._consumer is None:
            return
        try:
            await asyncio.wait_for(self._consumer.commit(offsets), timeout=_COMMIT_TIMEOUT_S)
        except (KafkaError, TimeoutError) as exc:
            # Not lost: these offsets are committed with the next ones, or redelivered.
            log.warning("%s: commit failed (%s)", self.trigger_id, exc or type(exc).__name__)
            return
        for part in parts:
            if part.tp in offsets:
                part.committed = max(part.committed or 0, offsets[part.tp])

    async def _drain(self, parts: list[Partition], *, timeout_s: float) -> None:
        busy = [part.idle.wait() for part in parts if part.running]
        if busy:
            await asyncio.wait([asyncio.ensure_future(wait) for wait in busy], timeout=timeout_s)

    async def revoked(self, tps: set[TopicPartition]) -> None:
        parts = [part for tp in tps if (part := self._partitions.pop(tp, None)) is not None]
        for part in parts:
            part.accepting = False
        await self._drain(parts, timeout_s=self._drain_timeout_s)
        await self._commit(parts)

    async def assigned(self, tps: set[TopicPartition]) -> None:
        for tp in tps:
            self._partitions[tp] = part = Partition(tp=tp)
            if self._consumer is not None:
                # On failure only the lag shown stays unknown until the first commit.
                with contextlib.suppress(KafkaError):
                    part.committed = await self._consumer.committed(tp)

    # -- state -------------------------------------------------------------------------

    def state(self) -> KafkaState:
        partitions = [self._partition_state(part) for part in self._sorted_partitions()]
        lags = [p["lag"] for p in partitions if p["lag"] is not None]
        return KafkaState(
            status=self._status,
            error=self._error,
            group=self.group,
            topics=list(self.config.topics),
            ordering=self.config.ordering,
            partitions=partitions,
            lag=sum(lags) if lags else None,
            in_flight=sum(p["in_flight"] for p in partitions),
            processed=self._processed,
            retried=self._retried,
            dead_lettered=self._dead_lettered,
            stuck=sum(1 for p in partitions if p["stuck"]),
            stuck_times=self._stuck_times,
        )

    def _sorted_partitions(self) -> list[Partition]:
        return sorted(self._partitions.values(), key=lambda p: (p.tp.topic, p.tp.partition))

    def _partition_state(self, part: Partition) -> dict[str, Any]:
        highwater = None
        if self._consumer is not None:
            try:
                highwater = self._consumer.highwater(part.tp)
            except Exception:  # not assigned in the client's view during a rebalance
                highwater = None
        return part.view(highwater)


def _text_key(event: CloudEvent) -> str | None:
    """The sticky key: the record's key when it is UTF-8 text."""
    key = event[MESSAGE].get("key")
    return key if isinstance(key, str) else None


def _succeeded(outcomes: Sequence[InvocationResult | RuntimeAdapterError]) -> int:
    """How many of an ordered run's outcomes, from the first, are successes."""
    for n, outcome in enumerate(outcomes):
        if type(outcome) is not InvocationResult or outcome.status >= 500:
            return n
    return len(outcomes)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, subscriber: KafkaSubscriber) -> None:
        self._subscriber = subscriber

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._subscriber.revoked(revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        await self._subscriber.assigned(assigned)


def build(config: KafkaTriggerConfig, context: TriggerContext) -> KafkaSubscriber:
    return KafkaSubscriber(
        trigger_id=context.trigger_id,
        function=context.function,
        config=config,
        dispatch=context.dispatch,
        drain_timeout_s=context.drain_timeout_s,
    )
