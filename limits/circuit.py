"""One revision's circuit breaker, judged by what this replica saw (as Envoy's outlier
detection judges each host by what that Envoy saw).

    closed ──(N failures in a row, or error rate over the threshold)──▶ open
    open ──(cooldown passed)──▶ half-open: one request probes the revision
    half-open ──(the probe succeeded)──▶ closed    ──(it failed)──▶ open again

The error rate counts the answers of the last `window` in ten slots of a tenth of it
each, so recording an answer costs the same however busy the revision is.
"""

from __future__ import annotations

import logging
from typing import Literal

from limits.spec import CircuitSpec

log = logging.getLogger("gaia.limits")

State = Literal["closed", "open", "half_open"]
PASS, PROBE, REFUSE = 0, 1, 2
_SLOTS = 10


class CircuitBreaker:
    def __init__(self, spec: CircuitSpec, *, name: str) -> None:
        self.spec = spec
        self.name = name
        self.state: State = "closed"
        self.reason = ""
        # While open: when the first probe may go.
        self.retry_at = 0.0
        self._consecutive = 0
        self._probe_since: float | None = None
        self._width = spec.window_s / _SLOTS
        self._epochs = [-1] * _SLOTS
        self._requests = [0] * _SLOTS
        self._failed = [0] * _SLOTS

    def admit(self, now: float) -> int:
        """PASS (closed), PROBE (this request tests a half-open circuit) or REFUSE."""
        if self.state == "closed":
            return PASS
        if now < self.retry_at:
            return REFUSE
        # A probe that never reported (its request was cut off) gives way to another
        # after a cooldown, so the circuit cannot stay half-open for ever.
        probe = self._probe_since
        if probe is not None and now - probe < self.spec.cooldown_s:
            return REFUSE
        self.state = "half_open"
        self._probe_since = now
        return PROBE

    def record(self, *, failed: bool, probe: bool, now: float) -> None:
        if probe:
            self._probe_since = None
            if failed:
                self._open(now, "its half-open probe failed")
            else:
                log.warning("%s: the probe succeeded: circuit closed", self.name)
                self._close()
            return
        if self.state != "closed":
            return  # answers of requests let through before it opened
        epoch = int(now / self._width)
        slot = epoch % _SLOTS
        if self._epochs[slot] != epoch:
            self._epochs[slot], self._requests[slot], self._failed[slot] = epoch, 0, 0
        self._requests[slot] += 1
        if not failed:
            self._consecutive = 0
            return
        self._failed[slot] += 1
        self._consecutive += 1
        if self._consecutive >= self.spec.failures:
            self._open(now, f"{self._consecutive} failures in a row")
            return
        oldest = epoch - _SLOTS
        requests = failures = 0
        for index in range(_SLOTS):
            if self._epochs[index] > oldest:
                requests += self._requests[index]
                failures += self._failed[index]
        if requests >= self.spec.min_requests and failures >= self.spec.error_rate * requests:
            self._open(
                now,
                f"{failures} of its last {requests} answers failed"
                f" (error_rate {self.spec.error_rate:.0%})",
            )

    def _open(self, now: float, reason: str) -> None:
        self.state = "open"
        self.reason = reason
        self.retry_at = now + self.spec.cooldown_s
        log.warning("%s: circuit open: %s; a probe in %gs", self.name, reason, self.spec.cooldown_s)

    def _close(self) -> None:
        self.state = "closed"
        self.reason = ""
        self._consecutive = 0
        self._epochs = [-1] * _SLOTS
