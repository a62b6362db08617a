"""Admission by the limits: rate limits, the concurrency cap and circuit breaking.

Before an event is invoked, `Guard.admit` takes a token from its trigger's and its
alias's rate limits, a lease from its function's concurrency cap, and asks the picked
revision's circuit; an open circuit sends the event to the alias's `fallback` revision
when it names one. HTTP triggers are answered at once when a limit refuses (429 or
503 with Retry-After); queue and cron triggers wait instead, so that a limit paces
them rather than dead-lettering their events. The returned `Ticket` records the
invocation's outcome in the circuit and gives the lease back.

The limiters live as long as their settings: a new snapshot that keeps an alias's
`rate_limit` keeps its bucket (and leased tokens), one that changes it starts afresh.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from gateway.snapshot import Snapshot
from limits.circuit import PASS, PROBE, REFUSE, CircuitBreaker
from limits.errors import CircuitOpen, ConcurrencyLimited, RateLimited
from limits.local import Cap, LocalCap, LocalRateLimiter, RateLimiter
from limits.spec import ConcurrencyLimit, RateLimit
from runtime_adapters.base import RevisionKey

if TYPE_CHECKING:
    from limits.link import RedisLink

T = TypeVar("T")
# How often a queue trigger waiting for a concurrency slot asks again.
CAP_POLL_S = 0.02


@dataclass(frozen=True, kw_only=True)
class _Limited:
    """A rate limiter with what its refusal says: `hello:prod`, `trigger hello/http/0`."""

    limiter: RateLimiter
    what: str


@dataclass(frozen=True, kw_only=True)
class Plan:
    """The limits of one snapshot, looked up per event."""

    triggers: Mapping[str, _Limited] = field(default_factory=dict)
    aliases: Mapping[tuple[str, str], _Limited] = field(default_factory=dict)
    fallbacks: Mapping[tuple[str, str], int] = field(default_factory=dict)
    breakers: Mapping[RevisionKey, CircuitBreaker] = field(default_factory=dict)
    caps: Mapping[RevisionKey, Cap] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return bool(self.triggers or self.aliases or self.breakers or self.caps)


class Ticket:
    """One admitted invocation: `record` each answer's status, `close` once at the end."""

    __slots__ = ("_cap", "_lease", "breaker", "probe")

    def __init__(
        self, *, breaker: CircuitBreaker | None, probe: bool, cap: Cap | None, lease: str | None
    ) -> None:
        self.breaker = breaker
        self.probe = probe
        self._cap = cap
        self._lease = lease

    def record(self, status: int, *, counted: bool = True) -> None:
        """`counted`: False for an invocation shed before it ran, which says nothing
        about the revision."""
        breaker = self.breaker
        if breaker is None or not counted:
            return
        breaker.record(failed=status >= 500, probe=self.probe, now=time.monotonic())
        self.probe = False

    def close(self) -> None:
        if self._cap is not None and self._lease is not None:
            self._cap.release(self._lease)
            self._lease = None


class Guard:
    def __init__(self, *, replica: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._replica = replica
        self._clock = clock
        self._links: dict[str, RedisLink] = {}
        self._kept: dict[Hashable, Any] = {}
        self._plan = Plan()
        self._plan_for: Snapshot | None = None

    def plan(self, snapshot: Snapshot) -> Plan:
        if snapshot is not self._plan_for:
            self._plan = self._build(snapshot)
            self._plan_for = snapshot
        return self._plan

    async def admit(
        self,
        plan: Plan,
        key: RevisionKey,
        alias: str,
        *,
        trigger_id: str | None,
        wait: bool,
        tokens: int = 1,
    ) -> tuple[RevisionKey, Ticket]:
        """Admit one invocation (or a run of `tokens` events) of revision `key`, picked
        through `alias` ("" for a pinned revision): the revision to invoke, which is the
        alias's fallback while `key`'s circuit is open, and its ticket. Raises a
        `limits.errors.Refused`, unless `wait`, which waits for the limits instead."""
        limited = plan.triggers.get(trigger_id) if trigger_id else None
        if limited is not None:
            await self._take(limited, tokens, wait)
        limited = plan.aliases.get((key.function, alias))
        if limited is not None:
            await self._take(limited, tokens, wait)
        while True:
            cap = plan.caps.get(key)
            lease = await self._acquire(cap, wait) if cap is not None else None
            try:
                chosen, breaker, probe = self._circuit(plan, key, alias)
            except CircuitOpen as exc:
                if cap is not None and lease is not None:
                    cap.release(lease)
                if not wait:
                    raise
                await asyncio.sleep(max(exc.retry_after_s, CAP_POLL_S))
                continue
            return chosen, Ticket(breaker=breaker, probe=probe, cap=cap, lease=lease)

    def admit_now(
        self, plan: Plan, key: RevisionKey, alias: str, *, trigger_id: str | None
    ) -> Ticket | None:
        """`admit` for one event of `key`, when it is decided at once and lets the event
        through to `key` itself: the limits are this replica's own, each has room and
        the circuit is closed. None otherwise, having taken nothing, so that `admit`
        decides the event as usual (and answers its refusal)."""
        limiters: list[LocalRateLimiter] = []
        for limited in (
            plan.triggers.get(trigger_id) if trigger_id else None,
            plan.aliases.get((key.function, alias)),
        ):
            if limited is not None:
                limiter = limited.limiter
                if not isinstance(limiter, LocalRateLimiter) or not limiter.ready():
                    return None
                limiters.append(limiter)
        cap = plan.caps.get(key)
        if cap is not None and (not isinstance(cap, LocalCap) or cap.in_flight >= cap.spec.max):
            return None
        breaker = plan.breakers.get(key)
        if breaker is not None and breaker.state != "closed":
            return None
        for limiter in limiters:
            limiter.take_now()
        lease = cap.acquire_now() if cap is not None else None
        return Ticket(breaker=breaker, probe=False, cap=cap, lease=lease)

    @staticmethod
    async def _take(limited: _Limited, tokens: int, wait: bool) -> None:
        for _ in range(tokens):
            while (delay := await limited.limiter.take()) > 0:
                if not wait:
                    raise RateLimited(
                        f"{limited.what} allows {limited.limiter.spec.describe()}: over the"
                        f" limit, a request may go again in {delay:.3f}s",
                        retry_after_s=delay,
                    )
                await asyncio.sleep(delay)

    @staticmethod
    async def _acquire(cap: Cap, wait: bool) -> str:
        while (lease := await cap.acquire()) is None:
            if not wait:
                where = "across the replicas" if cap.spec.redis else "in this gateway"
                raise ConcurrencyLimited(
                    f"{cap.spec.max} invocations are in flight {where}: the function's"
                    " concurrency_limit; retry shortly",
                    retry_after_s=1.0,
                )
            await asyncio.sleep(CAP_POLL_S)
        return lease

    def _circuit(
        self, plan: Plan, key: RevisionKey, alias: str
    ) -> tuple[RevisionKey, CircuitBreaker | None, bool]:
        breaker = plan.breakers.get(key)
        if breaker is None:
            return key, None, False
        now = self._clock()
        verdict = breaker.admit(now)
        if verdict != REFUSE:
            return key, breaker, verdict == PROBE
        fallback = plan.fallbacks.get((key.function, alias))
        if fallback is not None and fallback != key.revision:
            other = RevisionKey(function=key.function, revision=fallback)
            other_breaker = plan.breakers.get(other)
            other_verdict = other_breaker.admit(now) if other_breaker is not None else PASS
            if other_verdict != REFUSE:
                return other, other_breaker, other_verdict == PROBE
        raise _circuit_open(breaker, key, now)

    # -- building the plan ---------------------------------------------------------------

    def _build(self, snapshot: Snapshot) -> Plan:
        kept: dict[Hashable, Any] = {}

        def keep(identity: Hashable, make: Callable[[], T]) -> T:
            found = self._kept.get(identity)
            kept[identity] = found if found is not None else make()
            return kept[identity]  # type: ignore[no-any-return]

        triggers = {
            trigger_id: keep(
                ("trigger", trigger_id, spec),
                partial(self._limited, spec, f"trigger {trigger_id}", f"trigger:{trigger_id}"),
            )
            for trigger_id, spec in snapshot.trigger_limits.items()
        }
        aliases: dict[tuple[str, str], _Limited] = {}
        fallbacks: dict[tuple[str, str], int] = {}
        for (function, name), alias in snapshot.aliases.items():
            if alias.fallback is not None:
                fallbacks[(function, name)] = alias.fallback
            if alias.rate_limit is not None:
                aliases[(function, name)] = keep(
                    ("alias", function, name, alias.rate_limit),
                    partial(
                        self._limited,
                        alias.rate_limit,
                        f"{function}:{name}",
                        f"alias:{function}:{name}",
                    ),
                )
        breakers: dict[RevisionKey, CircuitBreaker] = {}
        caps: dict[RevisionKey, Cap] = {}
        for key, limits in snapshot.revision_limits.items():
            if limits.circuit is not None:
                breakers[key] = keep(
                    ("circuit", key, limits.circuit),
                    partial(CircuitBreaker, limits.circuit, name=str(key)),
                )
            if limits.concurrency_limit is not None:
                caps[key] = keep(
                    ("cap", key.function, limits.concurrency_limit),
                    partial(self._cap, limits.concurrency_limit, key.function),
                )
        self._kept = kept
        return Plan(
            triggers=triggers, aliases=aliases, fallbacks=fallbacks, breakers=breakers, caps=caps
        )

    def _link(self, url: str) -> RedisLink:
        # Imported here: a gateway whose limits are all local never loads the Redis client.
        from limits.link import RedisLink

        link = self._links.get(url)
        if link is None:
            link = self._links[url] = RedisLink(url, replica=self._replica, clock=self._clock)
        return link

    def _limited(self, spec: RateLimit, what: str, key: str) -> _Limited:
        limiter: RateLimiter
        if spec.redis is None:
            limiter = LocalRateLimiter(spec, clock=self._clock)
        else:
            from limits.shared import SharedRateLimiter

            limiter = SharedRateLimiter(
                spec, key=f"gaia:ratelimit:{key}", link=self._link(spec.redis), clock=self._clock
            )
        return _Limited(limiter=limiter, what=what)

    def _cap(self, spec: ConcurrencyLimit, function: str) -> Cap:
        if spec.redis is None:
            return LocalCap(spec)
        from limits.shared import SharedCap

        return SharedCap(
            spec, key=f"gaia:concurrency:{function}", link=self._link(spec.redis), clock=self._clock
        )

    async def aclose(self) -> None:
        links, self._links = list(self._links.values()), {}
        for link in links:
            await link.aclose()


def _circuit_open(breaker: CircuitBreaker, key: RevisionKey, now: float) -> CircuitOpen:
    wait = breaker.retry_at - now
    if wait > 0:
        at = datetime.fromtimestamp(time.time() + wait, UTC).isoformat(timespec="seconds")
        when = f"gaia tries it again in {wait:.1f}s (at {at.replace('+00:00', 'Z')})"
    else:
        wait = 1.0
        when = "a probe request is testing it now"
    return CircuitOpen(
        f"{key} is failing ({breaker.reason}): its circuit is open; {when}",
        retry_after_s=wait,
    )
