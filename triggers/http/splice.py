"""An HTTP trigger's request passed straight to an instance that serves HTTP itself (a
container instance, a url endpoint): a `gateway.http.splice.Splice` over the slot the
runtime lends (runtime_adapters/lease.py), so that no ASGI cycle, no invocation and no
whole body stand between the client and the instance.

What the client gets is what the invocation path gives: the request as the client sent
it (path and query as sent, the end-to-end headers, the client's Host), the instance's
answer with its end-to-end headers, the gateway's Date, X-Request-Id and
X-Gaia-Revision; a failure is the same JSON 502/503/504 with the same message. The
answer is relayed as it comes rather than read whole first: its framing may differ
(chunked for an answer without a length), never its status, headers or body.

Compiled by setup.py with the types in splice.pxd beside it (as the splice machinery
is): every spliced request to an instance makes a `TriggerSplice` and calls it three
times. The module runs as it is without them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Coroutine
from typing import Any
from urllib.parse import quote

from gateway.guard import Ticket
from gateway.http.splice import Failure, Headers, RequestHead, Splice, SpliceOutcome
from gateway.invoker import Resolved
from gateway.metrics import RevisionMetrics
from httpkit.client import ClientError, HttpClient, Origin
from runtime_adapters.base import RuntimeAdapterError
from runtime_adapters.lease import HttpLease
from runtime_adapters.upstream_headers import passed_answer_headers, passed_headers
from triggers.http.responses import failure_answer


class TriggerSplice(Splice):
    __slots__ = ("_head", "_lease", "_resolved", "_ticket")

    def __init__(
        self, head: RequestHead, lease: HttpLease, resolved: Resolved, ticket: Ticket | None
    ) -> None:
        self._start(head, lease, resolved, ticket)

    def _start(
        self, head: RequestHead, lease: HttpLease, resolved: Resolved, ticket: Ticket | None
    ) -> None:
        # Apart from __init__ for Cython (splice.pxd), which types no special method's
        # arguments: the head's fields are then read at C level.
        self._head = head
        self._lease = lease
        self._resolved = resolved
        self._ticket = ticket
        # Read by the exchange as attributes (no property call per read).
        self.client: HttpClient = lease.client
        origin: Origin = lease.origin
        self.origin = origin
        # No raw path when no client sent one: escape the path, as an invocation does.
        target = head.raw_path or quote(head.path).encode("ascii")
        query_string = head.query_string
        self.target = target + b"?" + query_string if query_string else target
        self.headers = passed_headers(head.headers, origin.authority)
        if lease.announces_request:
            context = f"{head.request_id} {resolved.alias}".encode("latin-1")
            self.headers.append((b"x-gaia-context", context))
        self.capture_limit = 0
        # The function's timeout bounds the whole answer, as it bounds an invocation.
        self.deadline_s: float | None = lease.timeout_s

    def response_headers(self, status: int, headers: Headers) -> Headers:
        kept = passed_answer_headers(headers)
        request_id: str = self._head.request_id
        kept.append((b"x-request-id", request_id.encode()))
        kept.append((b"x-gaia-revision", self._resolved.label))
        return kept

    def reroute(self, error: ClientError) -> bool:
        lease: HttpLease = self._lease
        if not lease.reroute(error):
            return False
        # A slot on another instance: the exchange connects where the lease now points.
        self.client, self.origin = lease.client, lease.origin
        return True

    def failure(self, error: ClientError) -> Failure | Coroutine[Any, Any, Failure]:
        lease: HttpLease = self._lease
        failed = lease.failure(error)
        if isinstance(failed, RuntimeAdapterError):
            return self._answer(failed)
        return _later(self, failed)

    def _answer(self, exc: RuntimeAdapterError) -> Failure:
        answer = failure_answer(
            exc, self._head.request_id, (b"x-gaia-revision", self._resolved.label)
        )
        return Failure(
            status=answer.status,
            error=answer.error,
            message=answer.message,
            headers=tuple(answer.headers),
        )

    def finished(self, outcome: SpliceOutcome) -> None:
        status = outcome.status
        lease: HttpLease = self._lease
        lease.release(status if outcome.failure is None else None)
        ticket = self._ticket
        if status:
            metrics: RevisionMetrics = self._resolved.metrics
            metrics.observe(status, outcome.duration_s)
            if ticket is not None:
                ticket.record(status)
        if ticket is not None:
            ticket.close()


async def _later(splice: TriggerSplice, failed: Awaitable[RuntimeAdapterError]) -> Failure:
    # Not a method: the compiled class's methods are plain functions, not coroutines.
    return splice._answer(await failed)
