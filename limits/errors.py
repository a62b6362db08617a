"""What a limit answers instead of running the function.

They are RuntimeAdapterErrors, so that queue triggers treat them like any failure that
is worth retrying (the circuit's cool-down is a reason to back off), and the data plane
answers them as JSON errors with `Retry-After`.

    Refused
    ├── RateLimited          429 rate_limited: the alias's or trigger's bucket is empty
    ├── ConcurrencyLimited   503 concurrency_limited: the function's cap is reached
    └── CircuitOpen          503 circuit_open: the revision is failing, cooling down
"""

from __future__ import annotations

import math

from runtime_adapters.base import RuntimeAdapterError


class Refused(RuntimeAdapterError):
    error = "refused"
    retriable = True

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s

    @property
    def retry_after_header(self) -> bytes:
        """Whole seconds, at least 1, as HTTP's Retry-After takes them."""
        return str(max(1, math.ceil(self.retry_after_s))).encode()


class RateLimited(Refused):
    status = 429
    error = "rate_limited"


class ConcurrencyLimited(Refused):
    status = 503
    error = "concurrency_limited"


class CircuitOpen(Refused):
    status = 503
    error = "circuit_open"
