"""The legacy layer: what the data plane does with a request no HTTP trigger matched.

A request that matches a ledger route (path pattern and method, matched as HTTP
triggers are, by `routing.routes`) is served by the route's state:

    legacy    the old API answers
    shadow    the old API answers; a copy goes to the function in the background
              (safe methods only, unless shadow_unsafe; at most shadow.rate a second
              per route) and the answers are compared
    canary    `percent` of the requests go to the function (sticky by the alias's key)
    function  the function answers
    retired   the function answers and the old API is never asked, not even on failure

In canary and function, a function failure (no answer, or a 5xx) on a safe method falls
back to the old API while the route's retry budget allows. Any other request goes to
the old API and feeds route discovery.

A request the old API answers with nothing else to do (no ledger route, or one in
legacy or shadow) is spliced by the data plane's protocol (`splice`): no ASGI cycle, and
the same records when it ends, the shadow copy offered then. The ASGI path (`__call__`)
serves the rest, and any request the protocol does not splice (a pipelined one).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping

from starlette.types import Receive, Scope, Send

from gateway.http.splice import Captured, RequestHead, Splice, SpliceOutcome
from legacy.bodies import read_bounded
from legacy.budget import RetryBudget
from legacy.canary import CanarySplit
from legacy.config import SAFE_METHODS, LegacyConfig, LegacyRouteConfig
from legacy.done import SpliceDone
from legacy.evidence import EvidenceBook, RouteEvidence, is_error
from legacy.handover import TrackedProxy
from legacy.matching import ledger_table
from legacy.ports import (
    CapturedResponse,
    ForwardOutcome,
    FunctionCaller,
    FunctionUnavailable,
    ProxiedRequest,
)
from legacy.proxy.request import from_head, proxied_request
from legacy.shadow import ShadowCopy, ShadowPool
from limits.bucket import TokenBucket
from routing.routes import LOOKUPS_REMEMBERED, RouteMatch, RouteTable
from triggers.http.responses import BodyTooLarge, json_error, read_body, send_answer


class _Route:
    """A ledger route as the router serves it, made once per ledger change; what each
    request asks of it (its state, function, shadow_unsafe) copied out of its config."""

    __slots__ = (
        "budget",
        "config",
        "copies",
        "function",
        "legacy_done",
        "shadow_unsafe",
        "split",
        "state",
        "window",
    )

    def __init__(
        self,
        config: LegacyRouteConfig,
        window: RouteEvidence,
        budget: RetryBudget,
        split: CanarySplit | None,
        copies: TokenBucket,
        legacy_done: LegacyAnswered,
    ) -> None:
        self.config = config
        self.state = config.state
        self.function = config.function
        self.shadow_unsafe = config.shadow_unsafe
        self.window = window
        self.budget = budget
        self.split = split
        # Shadow copies' tokens: `shadow.rate` a second, one second's worth held.
        self.copies = copies
        # The record of a request the old API answered, spliced: made once per route,
        # not a callable per request.
        self.legacy_done = legacy_done

    @property
    def regime(self) -> tuple[str, float | None, str | None]:
        """What the evidence is about: a change of any of these starts a new window."""
        return _regime(self.config)


class LegacyAnswered(SpliceDone):
    """A ledger route's request the old API answered, spliced: its side of the route's
    window, in one call from the splice."""

    __slots__ = ("_book", "_window")

    def __init__(self, book: EvidenceBook, window: RouteEvidence) -> None:
        self._book = book
        self._window = window

    def record(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        self._book.answered_by_legacy(self._window, outcome.status, outcome.duration_s)


class _Discovered(SpliceDone):
    """A request no ledger route matched, spliced: route discovery's."""

    __slots__ = ("_book",)

    def __init__(self, book: EvidenceBook) -> None:
        self._book = book

    def record(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        self._book.unmatched(head.method, head.path, outcome.status, outcome.duration_s)


class _ShadowSpliced(SpliceDone):
    """A shadow route's request whose copy is to be offered once the old API answered."""

    __slots__ = ("_params", "_route", "_router", "_target")

    def __init__(
        self, router: LegacyRouter, route: _Route, target: str, params: dict[str, str]
    ) -> None:
        self._router = router
        self._route = route
        self._target = target
        self._params = params

    def record(self, head: RequestHead, outcome: SpliceOutcome) -> None:
        route = self._route
        route.legacy_done.record(head, outcome)
        self._router._copy(
            route,
            self._target,
            head,
            outcome.request_body,
            self._params,
            outcome.answer,
            outcome.duration_s,
        )


# What `LegacyRouter._matched` finds for a request no ledger route takes.
_NO_ROUTE: tuple[_Route | None, Mapping[str, str]] = (None, {})


def _regime(route: LegacyRouteConfig) -> tuple[str, float | None, str | None]:
    return (route.state, route.percent, route.function)


class LegacyRouter:
    def __init__(
        self,
        *,
        config: LegacyConfig,
        proxy: TrackedProxy,
        functions: FunctionCaller,
        book: EvidenceBook,
        shadow: ShadowPool,
        body_limit: int,
        clock: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
        ticks: Callable[[], float] = time.monotonic,
    ) -> None:
        self._proxy = proxy
        self._functions = functions
        self._book = book
        self._shadow = shadow
        self._body_limit = body_limit
        self._clock = clock
        self._rand = rand
        self._ticks = ticks
        self._routes: dict[str, _Route] = {}
        self._found: dict[tuple[str, str], tuple[_Route | None, Mapping[str, str]]] = {}
        self._discovered_done = _Discovered(book)
        self._config = config
        self._table = RouteTable(())
        self.update(config)

    def update(self, config: LegacyConfig) -> None:
        """Serve `config`'s ledger from now on. A route whose state, percent or function
        changed starts a fresh evidence window; the others keep theirs. Raises
        routing.errors.RouteConflict, changing nothing, when two routes would match the
        same requests."""
        table = ledger_table(config.routes)
        now = self._clock()
        rate = config.shadow.rate
        routes: dict[str, _Route] = {}
        for route in config.routes:
            old = self._routes.get(route.path)
            if old is not None and old.regime == _regime(route):
                budget = old.budget
                window = old.window
            else:
                budget = RetryBudget(config.retry_budget)
                window = self._book.start(route.path, since=now)
            split = (
                CanarySplit(route=route.path, percent=route.percent, rand=self._rand)
                if route.state == "canary" and route.percent is not None
                else None
            )
            # Kept across a change of state, so that moving a route back and forth cannot
            # refill its bucket; a new rate starts a full one.
            copies = (
                old.copies
                if old is not None and old.copies.rate == rate
                else TokenBucket(rate=rate, capacity=max(1.0, rate), now=self._ticks())
            )
            routes[route.path] = _Route(
                route, window, budget, split, copies, LegacyAnswered(self._book, window)
            )
        self._book.keep_only(routes)
        self._shadow.configure(config.shadow)
        self._config, self._table, self._routes = config, table, routes
        self._found = {}

    async def follow(self, config: LegacyConfig | None) -> None:
        """The control plane's legacy listener: the ledger changed."""
        if config is not None:
            self.update(config)

    def use_proxy(self, proxy: TrackedProxy) -> None:
        """Ask the old API through `proxy` from now on (its upstreams changed); requests
        already on their way finish through the one they started with."""
        self._proxy = proxy
        self._shadow.use_proxy(proxy)

    @property
    def observations(self) -> EvidenceBook:
        """`ports.Observations`: the routes' evidence, discovery and the totals."""
        return self._book

    async def aclose(self) -> None:
        await self._shadow.aclose()

    # --- spliced requests (gateway.dataplane.Fallback.splice) -------------------------

    def splice(self, head: RequestHead) -> Splice | None:
        route, params = self._matched(head.method, head.path)
        proxy = self._proxy
        if route is None:
            return proxy.splice(head, self._discovered_done, 0)
        state = route.state
        if state == "legacy":
            return proxy.splice(head, route.legacy_done, 0)
        if state != "shadow":
            return None
        target = route.function
        if not self._copied(route, target, head.method):
            splice = proxy.splice(head, route.legacy_done, 0)
            if splice is not None:
                route.window.shadow_skipped += 1
            return splice
        assert target is not None, "_copied refuses a route without a function"
        # The table's parameters are shared by the requests of the path: the copy's own.
        done = _ShadowSpliced(self, route, target, dict(params))
        return proxy.splice(head, done, self._config.shadow.capture_limit)

    def _matched(self, method: str, path: str) -> tuple[_Route | None, Mapping[str, str]]:
        """The ledger route a request goes to (None: none) and its path's parameters,
        found once per method and path while the ledger stands: the route table's own
        memory of them is a Python call away, and its answer names the route, not the
        router's `_Route`."""
        key = (method, path)
        found = self._found.get(key)
        if found is None:
            looked_up = self._table.lookup(method, path, None)
            found = (
                _NO_ROUTE
                if looked_up is None
                else (self._routes[looked_up[0].trigger_id], looked_up[1])
            )
            if len(self._found) >= LOOKUPS_REMEMBERED:
                self._found.clear()
            self._found[key] = found
        return found

    def _copied(self, route: _Route, target: str | None, method: str) -> bool:
        """Whether this request of a shadow route is to be copied, decided before its
        bodies are captured: a request that is not costs the client's path nothing more
        than the legacy state's. A rate-limited one takes the route's token here."""
        if target is None or (method not in SAFE_METHODS and not route.shadow_unsafe):
            return False
        return route.copies.take(self._ticks()) == 0.0

    # --- the ASGI path --------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send, request_id: str) -> int:
        request = proxied_request(scope, request_id)
        match = self._table.match(request.method, request.path, None)
        if not isinstance(match, RouteMatch):
            outcome = await self._proxy.forward(request, receive, send)
            self._book.unmatched(request.method, request.path, outcome.status, outcome.duration_s)
            return outcome.status
        route = self._routes[match.route.trigger_id]
        state = route.config.state
        if state == "legacy":
            return (await self._legacy(route, request, receive, send)).status
        if state == "shadow":
            return await self._shadowed(route, request, match.params, receive, send)
        if route.split is not None and route.config.function is not None:
            key = self._functions.sticky_key(route.config.function, request)
            if not route.split.to_function(key):
                return (await self._legacy(route, request, receive, send)).status
        return await self._function(route, request, match.params, receive, send)

    async def _legacy(
        self,
        route: _Route,
        request: ProxiedRequest,
        receive: Receive,
        send: Send,
        *,
        body: bytes | None = None,
        capture_limit: int = 0,
    ) -> ForwardOutcome:
        outcome = await self._proxy.forward(
            request, receive, send, body=body, capture_limit=capture_limit
        )
        self._answered_by_legacy(route, outcome.status, outcome.duration_s)
        return outcome

    def _answered_by_legacy(self, route: _Route, status: int, duration_s: float) -> None:
        self._book.answered_by_legacy(route.window, status, duration_s)

    async def _shadowed(
        self,
        route: _Route,
        request: ProxiedRequest,
        params: Mapping[str, str],
        receive: Receive,
        send: Send,
    ) -> int:
        target = route.config.function
        if not self._copied(route, target, request.method):
            route.window.shadow_skipped += 1
            return (await self._legacy(route, request, receive, send)).status
        assert target is not None, "_copied refuses a route without a function"
        limit = self._config.shadow.capture_limit
        bounded = await read_bounded(receive, request.headers, limit=limit)
        outcome = await self._legacy(
            route, request, bounded.receive, send, body=bounded.body, capture_limit=limit
        )
        captured = outcome.captured
        self._copy(route, target, request, bounded.body, params, captured, outcome.duration_s)
        return outcome.status

    def _copy(
        self,
        route: _Route,
        target: str,
        request: ProxiedRequest | RequestHead,
        body: bytes | None,
        params: Mapping[str, str],
        old: CapturedResponse | Captured | None,
        duration_s: float,
    ) -> None:
        """Offer the shadow copy of a request the old API answered: `body` is the request's
        (None: over the capture limit), `old` the answer (None: the old API failed)."""
        if body is None or (old is not None and old.body is None):
            route.window.shadow_skipped += 1
        elif old is not None and not self._shadow.room():
            # Counted as offer() counts a drop, without making the copy: a full queue
            # means a busy gateway, where the client's path should cost the least.
            route.window.shadow_dropped += 1
        elif old is not None:
            if isinstance(old, Captured):
                old = CapturedResponse(
                    status=old.status, headers=old.headers, body=old.body, duration_s=duration_s
                )
            # After the client has its answer: the copy costs the client nothing.
            self._shadow.offer(
                ShadowCopy(
                    window=route.window,
                    target=target,
                    request=request if isinstance(request, ProxiedRequest) else from_head(request),
                    body=body,
                    params=params,
                    old=old,
                    compare=route.config.compare,
                )
            )

    async def _function(
        self,
        route: _Route,
        request: ProxiedRequest,
        params: Mapping[str, str],
        receive: Receive,
        send: Send,
    ) -> int:
        target = route.config.function
        assert target is not None, "the config refuses a state past legacy without a function"
        window = route.window
        try:
            body = await read_body(receive, request.headers, limit=self._body_limit)
        except BodyTooLarge as exc:
            self._book.matched(window, by_function=True)
            return await json_error(send, 413, "body_too_large", str(exc), request.request_id)
        route.budget.credit()
        started = time.perf_counter()
        try:
            answer = await self._functions.call(target, request, body, params=params)
        except FunctionUnavailable as exc:
            window.function.record(exc.status, time.perf_counter() - started)
            if self._falls_back(route, request, exc.status):
                return (await self._legacy(route, request, receive, send, body=body)).status
            self._book.matched(window, by_function=True)
            return await json_error(
                send,
                exc.status,
                exc.reason,
                exc.message,
                request.request_id,
                extra_headers=exc.headers,
            )
        response = answer.response
        window.function.record(response.status, response.duration_s)
        if self._falls_back(route, request, response.status):
            return (await self._legacy(route, request, receive, send, body=body)).status
        self._book.matched(window, by_function=True)
        return await send_answer(
            send,
            response.status,
            response.headers,
            response.body or b"",
            request.request_id,
            (b"x-gaia-revision", answer.revision.encode()),
        )

    @staticmethod
    def _falls_back(route: _Route, request: ProxiedRequest, status: int) -> bool:
        """A failed function call is asked of the old API instead: on a safe method, while
        the route still has the old API, and within its retry budget (spent here)."""
        return (
            is_error(status)
            and route.config.state != "retired"
            and request.method in SAFE_METHODS
            and route.budget.try_spend()
        )
