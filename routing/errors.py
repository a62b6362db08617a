"""Errors raised by routing's pure logic.

RoutingError
├── InvalidSpec     a target, alias, sticky or route definition is malformed;
│                   `path` names the offending key relative to the object validated
└── RouteConflict   two HTTP routes would match the same requests
"""

from __future__ import annotations


class RoutingError(Exception):
    pass


class InvalidSpec(RoutingError):
    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.message = message
        self.path = path


class RouteConflict(RoutingError):
    pass
