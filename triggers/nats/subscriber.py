"""Deliver NATS messages to a function: core subjects, request-reply and JetStream.

Core NATS holds no message once it is sent: a message is retried in the gateway with
backoff, then published to the dead-letter subject; a request gets one attempt and its
reply (the return value, or an error in headers). JetStream keeps messages until they
are acknowledged: each delivery is one attempt, a failure is nak'ed with the backoff as
its delay so the server redelivers it, and after the last attempt the message goes to
the dead letter and is terminated. The server's own max_deliver stays unlimited, so a
message whose dead letter fails is redelivered rather than dropped. A long invocation
sends in-progress signals so AckWait does not redeliver it meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, replace
from typing import Any

import nats
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from runtime_adapters.base import InvocationResult, RuntimeAdapterError
from triggers.answers import answer_headers
from triggers.base import Dispatch, TriggerContext
from triggers.connected import ConnectedSubscriber
from triggers.nats.config import NatsTriggerConfig
from triggers.nats.events import message_event, source_of
from triggers.nats.state import NatsState
from triggers.pipeline import (
    DeadLettered,
    Delivered,
    DeliveryStuck,
    Failure,
    OutputFailed,
    Pipeline,
    Retry,
    RetryPolicy,
    invoke_attempt,
)

log = logging.getLogger("gaia.triggers.nats")

# Core NATS has no max_ack_pending: at most this many of its messages run at once.
CORE_IN_FLIGHT = 64
_FETCH_TIMEOUT_S = 1.0
_FETCH_MAX = 256
_PUBLISH_TIMEOUT_S = 10
_INFO_EVERY_S = 1.0
_ERROR_HEADER_LIMIT = 4096


@dataclass(eq=False, kw_only=True)
class _Unit:
    msg: Msg
    revision: str = ""


class NatsSubscriber(ConnectedSubscriber):
    kind = "nats"
    broker = "NATS"
    connect_errors = (NatsError, OSError, TimeoutError)

    def __init__(
        self,
        *,
        trigger_id: str,
        function: str,
        config: NatsTriggerConfig,
        dispatch: Dispatch,
        drain_timeout_s: float = 10.0,
    ) -> None:
        super().__init__(trigger_id=trigger_id, drain_timeout_s=drain_timeout_s)
        self.config = config
        self.queue = None if config.jetstream else config.queue_for(function)
        self.durable = config.durable_for(function) if config.jetstream else None
        self._dispatch = dispatch
        self._source = source_of(config.servers[0], config.subject)
        self._backoff = config.backoff.policy()
        self._pipeline: Pipeline[_Unit] = Pipeline(
            invoke=self._invoke,
            dead_letter=self._dead_letter if config.dead_letter else None,
            policy=RetryPolicy(max_attempts=config.max_attempts, backoff=self._backoff),
        )
        limit = config.jetstream.max_ack_pending if config.jetstream else CORE_IN_FLIGHT
        self._slots = asyncio.Semaphore(limit)
        self._limit = limit
        self._tasks: set[asyncio.Task[None]] = set()
        self._room = asyncio.Event()  # set when `_room_wanted` slots are free again
        self._room_wanted = 0
        # JetStream messages being handled, by id(msg): (the message, when last signalled).
        self._running_msgs: dict[int, tuple[Msg, float]] = {}
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._streams: dict[str, str | None] = {}  # subject → the stream that stores it
        self._info: dict[str, Any] = {}
        self._processed = 0
        self._retried = 0
        self._redelivered = 0
        self._dead_lettered = 0
        self._lost = 0
        self._dead_letter_failed = 0

    # -- lifecycle ---------------------------------------------------------------------

    async def _consume(self) -> None:
        log.info("%s: subscribed to %s", self.trigger_id, self.config.subject)
        if self.config.jetstream is not None:
            await self._pull()
        else:
            await self._stopping.wait()  # nats-py calls _on_core for each message

    async def _disconnect(self, *, timeout_s: float) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout_s)
        for task in self._tasks:
            task.cancel()  # unacknowledged: JetStream redelivers it after AckWait
        nc, self._nc = self._nc, None
        if nc is not None:
            with contextlib.suppress(NatsError, OSError, TimeoutError):
                await asyncio.wait_for(nc.close(), timeout=timeout_s)

    async def _connect(self) -> None:
        nc = await nats.connect(
            servers=list(self.config.servers),
            name=f"gaia {self.trigger_id}",
            connect_timeout=2,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.5,
            allow_reconnect=True,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        try:
            # Also in core mode: answers and dead letters go into a stream when one takes
            # their subject.
            self._js = nc.jetstream()
            if self.config.jetstream is None:
                await nc.subscribe(self.config.subject, queue=self.queue or "", cb=self._on_core)
            else:
                await self._ensure_stream(self._js)
        except BaseException:
            await nc.close()
            raise
        self._nc = nc

    async def _ensure_stream(self, js: JetStreamContext) -> None:
        stream = self.config.jetstream
        assert stream is not None
        try:
            await js.stream_info(stream.stream)
        except NotFoundError:
            log.info(
                "%s: creating stream %s for %s", self.trigger_id, stream.stream, self.config.subject
            )
            await js.add_stream(name=stream.stream, subjects=[self.config.subject])

    async def _on_error(self, exc: Exception) -> None:
        self._error = str(exc) or type(exc).__name__

    async def _on_disconnected(self) -> None:
        if not self._stopping.is_set():
            self._status = "reconnecting"

    async def _on_reconnected(self) -> None:
        self._status, self._error = "running", None

    # -- core NATS ---------------------------------------------------------------------

    async def _on_core(self, msg: Msg) -> None:
        # nats-py runs a subscription's callbacks one after another: start the work and
        # return, waiting only when CORE_IN_FLIGHT messages are already running.
        await self._slots.acquire()
        self._spawn(self._core(msg))

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()
        if self._room_wanted and self._limit - len(self._tasks) >= self._room_wanted:
            self._room.set()

    async def _wait_for_room(self, slots: int) -> None:
        if self._limit - len(self._tasks) >= slots:
            return
        self._room_wanted = slots
        self._room.clear()
        try:
            await self._room.wait()
        finally:
            self._room_wanted = 0

    async def _core(self, msg: Msg) -> None:
        unit = _Unit(msg=msg)
        if msg.reply:
            await self._answer_request(unit)
            return
        try:
            outcome = await self._pipeline.deliver(unit)
        except DeliveryStuck as exc:
            # Core NATS cannot hold the message for later: say loudly that it is gone.
            self._lost += 1
            log.error("%s: message on %s lost: %s", self.trigger_id, msg.subject, exc)
            return
        self._count(outcome)

    async def _answer_request(self, unit: _Unit) -> None:
        assert self._nc is not None
        msg = unit.msg
        try:
            result = await self._invoke(unit, 1)
        except (RuntimeAdapterError, OutputFailed) as exc:
            headers = {
                "Nats-Service-Error-Code": str(getattr(exc, "status", 500)),
                "Nats-Service-Error": exc.message[:_ERROR_HEADER_LIMIT],
                "gaia-error-kind": type(exc).__name__,
                "gaia-revision": unit.revision,
            }
            await self._publish_core(msg.reply, exc.message.encode(), headers)
            return
        headers = {"gaia-revision": unit.revision, "gaia-status": str(result.status)}
        headers.update(_forwarded(result))
        if result.status >= 500:
            headers["Nats-Service-Error-Code"] = str(result.status)
            headers["Nats-Service-Error"] = f"the function answered status {result.status}"
        else:
            self._processed += 1
        await self._publish_core(msg.reply, result.body, headers)

    async def _publish_core(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        assert self._nc is not None
        try:
            await self._nc.publish(subject, payload, headers=headers)
        except (NatsError, OSError) as exc:
            log.warning("%s: could not reply on %s: %s", self.trigger_id, subject, exc)

    # -- JetStream ---------------------------------------------------------------------

    async def _pull(self) -> None:
        js, stream = self._js, self.config.jetstream
        assert js is not None and stream is not None
        consumer = ConsumerConfig(
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=stream.ack_wait_s,
            max_deliver=-1,  # gaia counts attempts; see the module docstring
            max_ack_pending=stream.max_ack_pending,
            filter_subject=self.config.subject,
        )
        sub = await js.pull_subscribe(
            self.config.subject, durable=self.durable, stream=stream.stream, config=consumer
        )
        info_task = asyncio.create_task(self._refresh_info(sub))
        keep_alive = asyncio.create_task(self._keep_alive(every_s=stream.ack_wait_s / 3))
        try:
            while not self._stopping.is_set():
                # Fetch when a quarter of the slots are free, not at each one: a pull
                # request per message or two costs more than the messages it brings.
                await self._wait_for_room(max(1, self._limit // 4))
                await self._slots.acquire()
                free = 1 + min(_FETCH_MAX - 1, self._free_slots())
                try:
                    msgs = await sub.fetch(free, timeout=_FETCH_TIMEOUT_S)
                except (NatsTimeout, TimeoutError):
                    msgs = []
                finally:
                    self._slots.release()
                for msg in msgs:
                    await self._slots.acquire()
                    self._spawn(self._jetstream(msg))
        finally:
            info_task.cancel()
            keep_alive.cancel()
            with contextlib.suppress(NatsError, OSError):
                await sub.unsubscribe()

    def _free_slots(self) -> int:
        return max(0, self._limit - len(self._tasks) - 1)

    async def _refresh_info(self, sub: JetStreamContext.PullSubscription) -> None:
        while True:
            with contextlib.suppress(NatsError, OSError, TimeoutError):
                info = await sub.consumer_info()
                self._info = {
                    "pending": info.num_pending,
                    "ack_pending": info.num_ack_pending,
                }
            await asyncio.sleep(_INFO_EVERY_S)

    async def _jetstream(self, msg: Msg) -> None:
        stream = self.config.jetstream
        assert stream is not None
        attempt = msg.metadata.num_delivered
        if attempt > 1:
            self._redelivered += 1
        self._running_msgs[id(msg)] = (msg, asyncio.get_running_loop().time())
        try:
            outcome = await self._pipeline.attempt(_Unit(msg=msg), attempt=attempt)
        except DeliveryStuck as exc:
            self._dead_letter_failed += 1
            delay = self.config.backoff.max_s
            log.error(
                "%s: message %s could not be dead-lettered; redelivering in %.1fs: %s",
                self.trigger_id,
                msg.metadata.sequence.stream,
                delay,
                exc,
            )
            await self._settle(msg.nak(delay=delay))
            return
        finally:
            del self._running_msgs[id(msg)]
        if isinstance(outcome, Retry):
            self._retried += 1
            await self._settle(msg.nak(delay=outcome.delay_s))
            return
        self._count(outcome)
        if isinstance(outcome, DeadLettered):
            await self._settle(msg.term())
        else:
            await self._settle(msg.ack())

    async def _keep_alive(self, *, every_s: float) -> None:
        """Tell the server, for each message running longer than `every_s`, that it is
        in progress: one task for all of them, not one per message."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(every_s)
            now = loop.time()
            for key, (msg, since) in list(self._running_msgs.items()):
                # A message that finished while an earlier signal was sent is gone.
                if key in self._running_msgs and now - since >= every_s:
                    self._running_msgs[key] = (msg, now)
                    with contextlib.suppress(NatsError, OSError):
                        await msg.in_progress()

    async def _settle(self, ack: Any) -> None:
        """Send an ack, nak or term; if it is lost, AckWait redelivers the message."""
        try:
            await ack
        except (NatsError, OSError) as exc:
            log.warning("%s: acknowledgement failed: %s", self.trigger_id, exc)

    # -- the pipeline's callbacks ------------------------------------------------------

    async def _invoke(self, unit: _Unit, attempt: int) -> InvocationResult:
        event = message_event(unit.msg, source=self._source)
        result = await invoke_attempt(self._dispatch, event, attempt=attempt, unit=unit)
        reply_subject = self.config.reply_subject
        if reply_subject and result.status < 500 and result.body:
            headers = {"gaia-source-id": str(event["id"]), **_forwarded(result)}
            try:
                await self._publish(reply_subject, result.body, headers)
            except (NatsError, OSError, TimeoutError) as exc:
                raise OutputFailed(
                    f"could not publish the answer to {reply_subject}: {exc or type(exc).__name__}"
                ) from exc
        return result

    async def _dead_letter(self, unit: _Unit, failure: Failure) -> None:
        subject = self.config.dead_letter
        assert subject is not None
        msg = unit.msg
        headers = {
            **(msg.headers or {}),
            "gaia-error": failure.error[:_ERROR_HEADER_LIMIT],
            "gaia-error-kind": failure.kind,
            "gaia-attempts": str(failure.attempts),
            "gaia-revision": unit.revision,
            "gaia-trigger": self.trigger_id,
            "gaia-subject": msg.subject,
        }
        if self.config.jetstream is not None:
            headers["gaia-stream"] = msg.metadata.stream
            headers["gaia-sequence"] = str(msg.metadata.sequence.stream)
        await self._publish(subject, msg.data, headers, fresh=True)
        self._dead_lettered += 1
        log.warning(
            "%s: dead-lettered a message on %s to %s after %d attempt(s): %s",
            self.trigger_id,
            msg.subject,
            subject,
            failure.attempts,
            failure.error,
        )

    async def _publish(
        self, subject: str, payload: bytes, headers: dict[str, str], *, fresh: bool = False
    ) -> None:
        """Into the stream that takes `subject`, if one does (stored and confirmed), else
        core NATS, flushed so the server has it. `fresh` looks the stream up again instead
        of trusting what this connection learnt (dead letters are rare, answers are not)."""
        nc = self._nc
        assert nc is not None
        stream = await self._stream_of(subject, fresh=fresh)
        if stream is not None and self._js is not None:
            await self._js.publish(
                subject, payload, headers=headers, stream=stream, timeout=_PUBLISH_TIMEOUT_S
            )
            return
        await nc.publish(subject, payload, headers=headers)
        await nc.flush(timeout=_PUBLISH_TIMEOUT_S)

    async def _stream_of(self, subject: str, *, fresh: bool) -> str | None:
        if self._js is None:
            return None
        if fresh or subject not in self._streams:
            try:
                self._streams[subject] = await self._js.find_stream_name_by_subject(subject)
            except NatsError:  # no stream takes it, or the server runs without JetStream
                self._streams[subject] = None
        return self._streams[subject]

    def _count(self, outcome: Delivered | DeadLettered) -> None:
        if isinstance(outcome, Delivered):
            self._processed += 1
            self._retried += outcome.attempts - 1

    # -- state -------------------------------------------------------------------------

    def state(self) -> NatsState:
        common = NatsState(
            status=self._status,
            error=self._error,
            subject=self.config.subject,
            in_flight=len(self._tasks),
            processed=self._processed,
            retried=self._retried,
            dead_lettered=self._dead_lettered,
        )
        if self.config.jetstream is None:
            return replace(common, queue=self.queue, lost=self._lost)
        return replace(
            common,
            stream=self.config.jetstream.stream,
            durable=self.durable,
            redelivered=self._redelivered,
            dead_letter_failed=self._dead_letter_failed,
            lag=self._info.get("pending"),
            pending=self._info.get("pending"),
            ack_pending=self._info.get("ack_pending"),
        )


def _forwarded(result: InvocationResult) -> dict[str, str]:
    return {name: value.decode("latin-1") for name, value in answer_headers(result)}


def build(config: NatsTriggerConfig, context: TriggerContext) -> NatsSubscriber:
    return NatsSubscriber(
        trigger_id=context.trigger_id,
        function=context.function,
        config=config,
        dispatch=context.dispatch,
        drain_timeout_s=context.drain_timeout_s,
    )
