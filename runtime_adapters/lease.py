"""A slot on an instance that serves HTTP itself, lent to the data plane so that it passes
an HTTP request straight to that instance (gateway/http/splice.py) instead of invoking it.

A runtime whose instances serve HTTP (container instances on $PORT, url endpoints) lends
one from `Runtime.lease` when a slot is free at once; None sends the request the usual
way (queued for a slot, its body read whole). The borrower ends every lease with
`release`, exactly once, whatever happened; before that it may ask `reroute` (no
connection was made) and `failure` (the exchange failed) any number of times.
"""

from __future__ import annotations

from collections.abc import Awaitable

from httpkit.client import ClientError, HttpClient, Origin
from runtime_adapters.base import RuntimeAdapterError


class HttpLease:
    """What every lease is (a concrete base rather than a Protocol: compiled, lease.pxd
    makes it a C struct whose fields and methods the trigger's splice reaches at C level,
    whatever runtime lent it). A subclass sets the four fields and overrides the three
    methods."""

    __slots__ = ("announces_request", "client", "origin", "timeout_s")

    # The pool the instance's connections come from.
    client: HttpClient
    # Where the instance listens.
    origin: Origin
    # The instance is told the request's id and alias (a Python worker, for the app's
    # `context`) in an X-Gaia-Context header appended to the request.
    announces_request: bool
    # The revision's timeout: the most the whole answer may take.
    timeout_s: float

    def reroute(self, error: ClientError) -> bool:
        """No connection to `origin` was made: True when the lease now holds a slot on
        another instance instead (as an invocation would have been tried there)."""
        raise NotImplementedError

    def failure(self, error: ClientError) -> RuntimeAdapterError | Awaitable[RuntimeAdapterError]:
        """What an invocation failing so would have raised (a timeout, a lost instance);
        an awaitable when saying why takes a moment (a process's exit)."""
        raise NotImplementedError

    def release(self, answered: int | None) -> None:
        """Give the slot back. `answered`: the status the instance answered in full, or
        None when it did not (it failed, or the client left first)."""
        raise NotImplementedError
