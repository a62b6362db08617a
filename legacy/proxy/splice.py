"""The old API as a splice target (gateway/http/splice.py): a request the router passes on
with nothing else to do is spliced by the data plane's protocol, with no ASGI cycle.

It is the proxy's own rules in the splice's terms: the upstream chosen as for `forward`,
the same X-Forwarded-* and hop-by-hop rewrite both ways, the same JSON 502/504 failures.
`done` is the router's record of the request (discovery, or the ledger route's evidence).
"""

from __future__ import annotations

from gateway.http.splice import Failure, Headers, RequestHead, Splice, SpliceOutcome
from httpkit.client import ClientError, HttpClient
from legacy.done import SpliceDone
from legacy.proxy.failures import upstream_error
from legacy.proxy.headers import client_response_headers, forwarded_headers
from legacy.proxy.request import request_target
from legacy.proxy.upstreams import Upstream


class LegacySplice(Splice):
    """Made for every spliced request, by `legacy_splice`: the forwarding headers are
    made from the head's fields."""

    __slots__ = ("_done", "_head", "_upstream")

    def _begin(
        self,
        client: HttpClient,
        upstream: Upstream,
        head: RequestHead,
        done: SpliceDone,
        capture_limit: int,
    ) -> None:
        origin = upstream.origin
        self.client = client
        self.origin = origin
        self.target = request_target(head.raw_path, head.query_string)
        self.headers = forwarded_headers(head.headers, head.client, head.scheme, origin.authority)
        self.capture_limit = capture_limit
        self.deadline_s = None  # a proxy: the read timeout alone, between reads
        self._upstream = upstream
        self._head = head
        self._done = done

    def response_headers(self, status: int, headers: Headers) -> Headers:
        return client_response_headers(headers, self._head.request_id)

    def failure(self, error: ClientError) -> Failure:
        failed = upstream_error(self._upstream, error)
        return Failure(status=failed.status, error=failed.reason, message=failed.message)

    def reroute(self, error: ClientError) -> bool:
        return False  # the upstream was chosen by the request: its failure is answered

    def finished(self, outcome: SpliceOutcome) -> None:
        done: SpliceDone = self._done
        done.record(self._head, outcome)


def legacy_splice(
    client: HttpClient,
    upstream: Upstream,
    head: RequestHead,
    done: SpliceDone,
    capture_limit: int,
) -> LegacySplice:
    """The splice of `head` to `upstream`, `done` told when it ends. Made without a
    constructor's argument parsing: compiled, a C call from the proxy, with the head's
    fields read as C fields."""
    splice = LegacySplice.__new__(LegacySplice)
    splice._begin(client, upstream, head, done, capture_limit)
    return splice
