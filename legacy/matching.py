"""Ledger routes as `routing.routes` routes: matched, and checked for overlaps, by the
same rules as HTTP triggers, so the router and the checks at apply never disagree."""

from __future__ import annotations

from collections.abc import Iterable

from legacy.config import LegacyRouteConfig
from routing.errors import RouteConflict
from routing.names import Target, parse_target
from routing.routes import HttpRoute, RouteTable


class LedgerRouteConflict(Exception):
    """A ledger route no request could reach; `path` is that route's."""

    def __init__(self, message: str, *, path: str) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def as_http_route(route: LegacyRouteConfig) -> HttpRoute:
    # The trigger id is the ledger's name for the route: the router finds it by it.
    return HttpRoute(
        path=route.path,
        methods=frozenset(route.methods),
        target=parse_target(route.function) if route.function else Target(function="-"),
        trigger_id=route.path,
    )


def ledger_table(routes: Iterable[LegacyRouteConfig]) -> RouteTable:
    """Raises routing.errors.RouteConflict when two routes would take the same requests."""
    return RouteTable(as_http_route(route) for route in routes)


def check_reachable(routes: Iterable[LegacyRouteConfig], triggers: Iterable[HttpRoute]) -> None:
    """Every ledger route can get a request: no two overlap (same path shape, a method in
    common), and no HTTP trigger for any host overlaps one (triggers win, so the route
    would never see a request). Raises LedgerRouteConflict naming both routes."""
    ledger = [as_http_route(route) for route in routes]
    everywhere = [trigger for trigger in triggers if trigger.host is None]
    if not _overlap(ledger) and not _overlap([*everywhere, *ledger]):
        return
    for index, route in enumerate(ledger):
        for earlier in ledger[:index]:
            if _overlap([earlier, route]):
                raise LedgerRouteConflict(
                    f"two ledger routes would take the same requests: {_shown(route)} and"
                    f" {_shown(earlier)} (same path shape, a method in common); expected one"
                    " route per path shape and method",
                    path=route.path,
                )
        for trigger in everywhere:
            if _overlap([trigger, route]):
                raise LedgerRouteConflict(
                    f"ledger route {_shown(route)} could never be reached: HTTP trigger"
                    f" {trigger.trigger_id} ({_methods(trigger)} {trigger.path}) of function"
                    f" {trigger.target.function} takes those requests first; expected the"
                    " route out of the ledger, or the trigger out of its function",
                    path=route.path,
                )


def _overlap(routes: list[HttpRoute]) -> bool:
    """Whether `routing.routes` refuses these routes together."""
    try:
        RouteTable(routes)
    except RouteConflict:
        return True
    return False


def _methods(route: HttpRoute) -> str:
    return ",".join(sorted(route.methods)) if route.methods is not None else "any method"


def _shown(route: HttpRoute) -> str:
    return f"{route.path} ({_methods(route)})"
