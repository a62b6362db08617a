"""One endpoint's state: what its health checks say, whether outlier detection has
ejected it, and how many requests it is answering. Pure: callers pass the time.

An endpoint takes requests (`routable`) once a health check has passed and while it is
not ejected:

- health: a check that passes marks it up; one that fails marks it down if it was not
  up yet, else after DOWN_AFTER_CHECKS failed checks in a row (a Kubernetes probe's
  `failureThreshold` and `successThreshold` defaults: 3 and 1).
- ejection: `consecutive_failures` requests in a row that failed (a 5xx answer, no
  answer in time, no connection) eject it for `cooldown`. It comes back on the first
  health check that passes once the cool-down is over, not before: an endpoint that
  is still broken then is never sent traffic to prove it.
"""

from __future__ import annotations

from typing import Literal

from configkit.units import format_duration
from runtime_adapters.base import EndpointStatus
from runtime_adapters.url.settings import EndpointUrl, Outlier

DOWN_AFTER_CHECKS = 3

Health = Literal["unchecked", "up", "down"]
State = Literal["healthy", "unchecked", "down", "ejected"]


class Endpoint:
    __slots__ = (
        "_outlier",
        "ejected_because",
        "ejected_until",
        "failed_checks",
        "failures",
        "health",
        "last_check",
        "last_failure",
        "name",
        "outstanding",
        "url",
    )

    def __init__(self, url: EndpointUrl, *, outlier: Outlier) -> None:
        self.url = url
        self.name = str(url)
        self._outlier = outlier
        self.outstanding = 0  # requests sent and not yet answered
        self.failures = 0  # requests failed in a row
        self.last_failure = ""
        self.ejected_until: float | None = None
        self.ejected_because = ""
        self.health: Health = "unchecked"
        self.failed_checks = 0  # health checks failed in a row
        self.last_check = ""  # what the last failed check saw

    @property
    def routable(self) -> bool:
        return self.health == "up" and self.ejected_until is None

    def state(self) -> State:
        if self.ejected_until is not None:
            return "ejected"
        return "healthy" if self.health == "up" else self.health

    # --- what happens to it ------------------------------------------------------------

    def answered(self, failure: str | None, now: float) -> bool:
        """A request ended: `failure` says how it failed (None: it did not). True when
        this failure ejects the endpoint."""
        if failure is None:
            self.failures = 0
            return False
        self.failures += 1
        self.last_failure = failure
        if self.ejected_until is not None or self.failures < self._outlier.consecutive_failures:
            return False
        self.ejected_until = now + self._outlier.cooldown_s
        failures = f"{self.failures} failure{'s' if self.failures > 1 else ''}"
        self.ejected_because = f"{failures} in a row, the last: {failure}"
        return True

    def checked(self, failure: str | None, now: float) -> None:
        """A health check ended: `failure` says what it saw (None: it passed)."""
        if failure is None:
            self.health = "up"
            self.failed_checks = 0
            if self.ejected_until is not None and now >= self.ejected_until:
                self.ejected_until = None
                self.failures = 0
            return
        self.failed_checks += 1
        self.last_check = failure
        if self.health != "up" or self.failed_checks >= DOWN_AFTER_CHECKS:
            self.health = "down"

    def next_check_at(self, checked_at: float, interval_s: float) -> float:
        """When its next health check is due, after one at `checked_at`: an interval
        later, or when its cool-down ends if that is sooner, so that it comes back
        without waiting out the interval."""
        due = checked_at + interval_s
        if self.ejected_until is not None and self.ejected_until > checked_at:
            return min(due, self.ejected_until)
        return due

    # --- what it looks like ------------------------------------------------------------

    def detail(self, now: float) -> str:
        if self.ejected_until is not None:
            left = self.ejected_until - now
            back = (
                f"cool-down ends in {format_duration(round(left, 1) or 0.1)}"
                if left > 0
                else "cool-down over, back on its next passing health check"
            )
            return f"after {self.ejected_because}; {back}"
        if self.health == "unchecked":
            return "no health check has passed yet"
        if self.health == "down":
            if self.failed_checks > 1:
                count = self.failed_checks
                return f"{count} health checks failed in a row, the last: {self.last_check}"
            return f"health check failed: {self.last_check}"
        if self.failures:
            return f"{self.failures} failed in a row, the last: {self.last_failure}"
        return ""

    def status(self, now: float) -> EndpointStatus:
        return EndpointStatus(
            url=self.name, state=self.state(), in_flight=self.outstanding, detail=self.detail(now)
        )
