"""The contract between the gateway and whatever runs a revision.

A runtime turns a `RevisionSpec` into warm instances and an `Invocation` into an
`InvocationResult`. Triggers never see instances; they only see this module.

Exception tree (every error carries the HTTP status a data plane should answer with,
and `retriable` for queue triggers that decide between retry and dead letter):

    RuntimeAdapterError
    ├── WarmupError          the revision cannot start (bad import, missing handler)
    ├── PoolSaturated        shed: would not start before its deadline: 503 with Retry-After
    ├── InvocationTimeout    no answer before the function's timeout: 504
    ├── InstanceLost         the instance died mid-invocation (exit, signal, memory): 502
    ├── FunctionFailed       the handler raised: 500, traceback for the logs only
    ├── Unavailable          nothing can take it now (every endpoint down): 503
    └── RevisionUnknown      the gateway asked for a revision it never warmed
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import msgspec

from runtime_adapters.histogram import Histogram

if TYPE_CHECKING:
    from runtime_adapters.lease import HttpLease

# One line an instance wrote (JSON-ready), and where runtimes hand such lines.
LogRecord = dict[str, object]
LogSink = Callable[[LogRecord], None]


@dataclass(frozen=True, kw_only=True)
class PoolSpec:
    min: int = 1
    max: int = 8
    idle_s: float = 300.0
    # A memory cap: invocations waiting for a free slot beyond this many are refused
    # (503, Retry-After). Admission is by expected wait (runtime_adapters/admission.py).
    queue: int = 10_000
    # The longest an invocation waits for a slot; None: the function's timeout.
    queue_timeout_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class RevisionSpec:
    """Everything needed to run one immutable revision."""

    function: str
    revision: int
    digest: str
    runtime: str
    bundle_dir: Path
    handler: str = "main.handler"
    env: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0
    memory_bytes: int = 256 * 1024 * 1024
    concurrency: int = 8
    pool: PoolSpec = field(default_factory=PoolSpec)
    network: bool = True
    # The runtime's own settings in their stored form (RuntimeSettings.to_dict), which
    # its settings model reads back: how keys only one runtime has (a container's
    # command and image) reach it.
    settings: Mapping[str, object] = field(default_factory=dict)

    @property
    def key(self) -> RevisionKey:
        return RevisionKey(function=self.function, revision=self.revision)


@dataclass(frozen=True, kw_only=True, slots=True)
class RevisionKey:
    function: str
    revision: int

    def __str__(self) -> str:
        return f"{self.function}@{self.revision}"


# The per-event types are msgspec Structs rather than frozen dataclasses: every request
# and every queued record makes one of each, and a Struct is built about 8x faster.


class HttpRequest(msgspec.Struct, frozen=True, kw_only=True):
    """The HTTP event as the handler will see it (DESIGN.md, handler contract)."""

    method: str
    path: str
    query_string: bytes
    headers: list[tuple[bytes, bytes]]
    params: dict[str, str]
    body: bytes
    # The path as the client sent it (percent-escapes kept), for whole web apps; empty
    # where there was no client (an invocation through the admin API).
    raw_path: bytes = b""


# Non-HTTP triggers pass a CloudEvents 1.0 mapping.
Event = HttpRequest | dict[str, object]


class Invocation(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    trigger: str
    alias: str
    event: Event
    # W3C traceparent of the span the function runs under ("" when untraced): a Python
    # handler's `context.traceparent`, a container's `traceparent` request header.
    traceparent: str = ""
    # False when no one waits on the answer (a legacy shadow copy: the client has the
    # old API's): a runtime may then wait for it the cheap way, not its fastest.
    urgent: bool = True


class QueueTiming:
    """How long a traced invocation waited for a free slot, told by its pool through
    QUEUE_TIMING (set by whoever traces it, in the task that awaits the invocation)."""

    __slots__ = ("waited_s",)

    def __init__(self) -> None:
        self.waited_s = 0.0


QUEUE_TIMING: ContextVar[QueueTiming | None] = ContextVar("gaia_queue_timing", default=None)


class InvocationResult(msgspec.Struct, frozen=True, kw_only=True):
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class RuntimeAdapterError(Exception):
    status: int = 500
    retriable: bool = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class WarmupError(RuntimeAdapterError):
    status = 502

    def __init__(self, message: str, *, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key  # the revision setting at fault (`handler`), where one is


ShedReason = Literal["expected_wait", "deadline", "queue_full"]


class PoolSaturated(RuntimeAdapterError):
    """The invocation was shed without running. `reason`: `expected_wait` (refused on
    arrival: it would not start before its deadline), `deadline` (it waited that long
    in the queue), `queue_full` (the pool's `queue` cap)."""

    status = 503
    retriable = True

    def __init__(self, message: str, *, reason: ShedReason, retry_after_s: int = 1) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after_s = retry_after_s


class InvocationTimeout(RuntimeAdapterError):
    status = 504
    retriable = True


class InstanceLost(RuntimeAdapterError):
    status = 502
    retriable = True


class FunctionFailed(RuntimeAdapterError):
    status = 500
    retriable = True

    def __init__(self, message: str, *, traceback: str) -> None:
        super().__init__(message)
        self.traceback = traceback


class Unavailable(RuntimeAdapterError):
    """Nothing that runs the revision can take an invocation now (every endpoint is
    down or ejected); the message says the state of each."""

    status = 503
    retriable = True


class RevisionUnknown(RuntimeAdapterError):
    status = 503


InstanceState = Literal["starting", "ready", "busy", "draining"]


def runtime_error_code(exc: RuntimeAdapterError) -> str:
    """The `error` of an invocation that failed, the same on the data plane and admin API."""
    if isinstance(exc, PoolSaturated):
        return "saturated"
    if isinstance(exc, FunctionFailed):
        return "function_error"
    if isinstance(exc, Unavailable):
        return "unavailable"
    return {502: "instance_lost", 504: "timeout"}.get(exc.status, "runtime_error")


@dataclass(frozen=True, kw_only=True)
class EndpointStatus:
    """One server a pool reaches over HTTP, as `gaia describe` shows it."""

    url: str
    state: str  # the runtime's word: `healthy`, `ejected` ...
    in_flight: int
    detail: str  # why it is in that state, or ""


@dataclass(frozen=True, kw_only=True)
class PoolStatus:
    key: RevisionKey
    instances: int  # every instance: starting, ready and draining
    ready: int  # taking work: warm (idle) or busy
    in_flight: int
    queued: int
    busy: int = 0  # ready instances running at least one invocation
    starting: int = 0
    draining: int = 0  # no new work: stopping once their invocations are done
    cold_starts: int = 0  # instances started since the pool was made
    # How long instances took to start, and how long invocations that found every slot
    # busy waited for one; live objects the pool keeps filling (None: not measured).
    start_seconds: Histogram | None = None
    queue_wait: Histogram | None = None
    # Filled by runtimes whose pool is a set of endpoints to show one by one.
    endpoints: tuple[EndpointStatus, ...] = ()


class Runtime(abc.ABC):
    """Runs revisions. One instance of a Runtime serves every revision of its kind."""

    name: str

    async def start(self) -> None:
        """Prepare what must be ready before the first warm-up (pre-started workers);
        a runtime with nothing to prepare keeps this."""
        return None

    @abc.abstractmethod
    async def warm(self, spec: RevisionSpec) -> None:
        """Start the pool's minimum (at least one instance, to prove the revision
        imports) and return once it can serve. Raises WarmupError with the
        function's own error text when it cannot. Idempotent."""

    @abc.abstractmethod
    async def invoke(self, key: RevisionKey, invocation: Invocation) -> InvocationResult:
        """Run one invocation on a warm instance, scaling the pool as needed."""

    async def invoke_many(
        self, key: RevisionKey, invocations: Sequence[Invocation]
    ) -> list[InvocationResult | RuntimeAdapterError]:
        """Run invocations in order, stopping after the first failure (an error, or a
        5xx answer); the list has an entry per invocation that ran. A runtime that can
        hand them to an instance at once overrides this one-at-a-time version. An error
        that ends the whole run (a timeout, a lost instance) is raised instead."""
        results: list[InvocationResult | RuntimeAdapterError] = []
        for invocation in invocations:
            try:
                result = await self.invoke(key, invocation)
            except RuntimeAdapterError as exc:
                results.append(exc)
                break
            results.append(result)
            if result.status >= 500:
                break
        return results

    def lease(self, key: RevisionKey) -> HttpLease | None:
        """A free slot on one of the revision's instances, for the data plane to pass an
        HTTP request to directly (runtime_adapters/lease.py); None when none is free at
        once, or the runtime's instances do not serve HTTP themselves."""
        return None

    @abc.abstractmethod
    async def retire(self, key: RevisionKey) -> None:
        """Stop a revision's pool after its in-flight invocations finish."""

    @abc.abstractmethod
    def status(self) -> list[PoolStatus]: ...

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Stop every instance; bounded, never hangs."""
