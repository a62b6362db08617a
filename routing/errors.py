"""Errors raised by routing's pure logic.

RoutingError
├── InvalidSpec     a target, alias, sticky or route definition is malformed;
│                   `path` names the offending key relative to the object validated
├── RouteConflict   two HTTP routes would match the same requests
└── UnknownTag      a request named a tag its alias does not have
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


class UnknownTag(RoutingError):
    def __init__(self, tag: str, *, alias: str, known: tuple[str, ...] = ()) -> None:
        expected = ", ".join(sorted(known)) or "none"
        super().__init__(f"{alias} has no tag {tag!r} (tags: {expected})")
        self.tag = tag
        self.alias = alias
        self.known = known
