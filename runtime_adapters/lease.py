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
from typing import Protocol

from httpkit.client import ClientError, HttpClient, Origin
from runtime_adapters.base import RuntimeAdapterError


class HttpLease(Protocol):
    @property
    def client(self) -> HttpClient:
        """The pool the instance's connections come from."""
        ...

    @property
    def origin(self) -> Origin:
        """Where the instance listens."""
        ...

    @property
    def announces_request(self) -> bool:
        """The instance is told the request's id and alias (a Python worker, for the
        app's `context`) in an X-Gaia-Context header appended to the request."""
        ...

    @property
    def timeout_s(self) -> float:
        """The revision's timeout: the most the whole answer may take."""
        ...

    def reroute(self, error: ClientError) -> bool:
        """No connection to `origin` was made: True when the lease now holds a slot on
        another instance instead (as an invocation would have been tried there)."""
        ...

    def failure(self, error: ClientError) -> RuntimeAdapterError | Awaitable[RuntimeAdapterError]:
        """What an invocation failing so would have raised (a timeout, a lost instance);
        an awaitable when saying why takes a moment (a process's exit)."""
        ...

    def release(self, answered: int | None) -> None:
        """Give the slot back. `answered`: the status the instance answered in full, or
        None when it did not (it failed, or the client left first)."""
        ...
