"""The HTTP route table: which trigger serves a request's method, path and host.

Path patterns
    `/hello/world`       literal segments, matched exactly and case-sensitively
    `/hello/{name}`      a parameter: one non-empty segment, no `/`
    `/files/{rest:path}` the rest of the path: one or more characters, `/` included; only
                         as the last segment. It is never empty, so `/files/{rest:path}`
                         matches neither `/files` nor `/files/`: add those routes if wanted.
    A parameter fills a whole segment, names are identifiers, and a trailing slash is
    significant (`/a` and `/a/` are different paths, as in Starlette without redirects).

Precedence, first match wins
    1. routes for the request's host, then host-less routes;
    2. within each, static paths (no parameters), then patterns ordered by more literal
       segments, then `{x}` before `{x:path}`, then literal segments further left;
    3. a path that matches but not for this method keeps looking (as Starlette does), and
       only if nothing takes the method is the answer MethodNotAllowed.
    HEAD is served by a route that allows GET unless another route takes HEAD itself.

Hosts compare case-insensitively, without `:port` and without a trailing dot. Paths arrive
percent-decoded from ASGI and are matched as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from routing.errors import InvalidSpec, RouteConflict
from routing.names import Target

# The methods a route may name (RFC 9110's, and PATCH).
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT")
# Segment kinds; lower is more specific, so they double as sort ranks.
LITERAL, SEGMENT, REST = 0, 1, 2
_CONVERTERS = {"": SEGMENT, "str": SEGMENT, "path": REST}
# `(?s:…)` because a decoded path may hold a newline (%0A), which `.` alone would refuse.
_GROUP = {SEGMENT: "([^/]+)", REST: "((?s:.+))"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_METHOD = re.compile(r"[A-Z][A-Z0-9_-]*")
_HOST = re.compile(
    r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*|\[[0-9a-f:.]+\]"
)


@dataclass(frozen=True, kw_only=True, slots=True)
class PathPattern:
    """A parsed path pattern; `values` holds each segment's literal text or parameter name."""

    text: str
    kinds: tuple[int, ...]
    values: tuple[str, ...]
    regex: re.Pattern[str] = field(repr=False, compare=False)

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(v for k, v in zip(self.kinds, self.values, strict=True) if k != LITERAL)

    @property
    def is_static(self) -> bool:
        return all(kind == LITERAL for kind in self.kinds)

    @property
    def shape(self) -> tuple[str | int, ...]:
        """Equal for patterns that match exactly the same paths, whatever their names."""
        return tuple(v if k == LITERAL else k for k, v in zip(self.kinds, self.values, strict=True))

    @property
    def precedence(self) -> tuple[int, bool, tuple[int, ...]]:
        """Sort key: the more specific pattern sorts first."""
        return (-self.kinds.count(LITERAL), REST in self.kinds, self.kinds)


def parse_pattern(text: str, *, path: str = "path") -> PathPattern:
    """Parse an HTTP trigger's `path`; errors are InvalidSpec at `path`."""

    def invalid(problem: str) -> InvalidSpec:
        return InvalidSpec(f"invalid pattern {text!r}: {problem}", path=path)

    if not text.startswith("/"):
        raise invalid("expected it to start with '/'")
    if "?" in text or "#" in text:
        raise invalid("a path pattern takes no query string or fragment")
    segments = text[1:].split("/")
    kinds: list[int] = []
    values: list[str] = []
    params: set[str] = set()
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if "{" not in segment and "}" not in segment:
            if not segment and not last:
                raise invalid("empty segment ('//')")
            kinds.append(LITERAL)
            values.append(segment)
            continue
        if not _balanced(segment):
            raise invalid(f"unbalanced braces in {segment!r}")
        if not (segment.startswith("{") and segment.endswith("}") and segment.count("{") == 1):
            raise invalid(f"a parameter must be a whole segment, not part of {segment!r}")
        name, _, converter = segment[1:-1].partition(":")
        if not _IDENTIFIER.fullmatch(name):
            raise invalid(f"parameter name {name!r} is not an identifier")
        if name in params:
            raise invalid(f"parameter {name!r} appears twice")
        kind = _CONVERTERS.get(converter)
        if kind is None:
            raise invalid(
                f"unknown converter {converter!r}: expected {{{name}}} or {{{name}:path}}"
            )
        if kind == REST and not last:
            raise invalid(f"{{{name}:path}} must be the last segment")
        kinds.append(kind)
        values.append(name)
        params.add(name)
    source = "/" + "/".join(
        re.escape(v) if k == LITERAL else _GROUP[k] for k, v in zip(kinds, values, strict=True)
    )
    return PathPattern(
        text=text, kinds=tuple(kinds), values=tuple(values), regex=re.compile(source)
    )


def _balanced(segment: str) -> bool:
    depth = 0
    for char in segment:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        if not 0 <= depth <= 1:
            return False
    return depth == 0


def host_key(host: str) -> str:
    """`API.example.com:8080` and `api.example.com.` both become `api.example.com`."""
    host = host.lower()
    if not host.endswith("]"):  # `[::1]` has colons but no port
        name, colon, port = host.rpartition(":")
        if colon and port.isdigit():
            host = name
    return host.rstrip(".")


def check_host(host: str) -> str:
    """The key a route's `host` is matched by; InvalidSpec if it is no DNS name or IP."""
    key = host_key(host)
    if not _HOST.fullmatch(key):
        raise InvalidSpec(f"invalid host {host!r}: expected a DNS name or IP address", path="host")
    return key


@dataclass(frozen=True, kw_only=True)
class HttpRoute:
    """One HTTP trigger. `methods` None takes any method; `host` None takes any host."""

    path: str
    methods: frozenset[str] | None = None
    host: str | None = None
    target: Target
    trigger_id: str
    pattern: PathPattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        init = object.__setattr__
        init(self, "pattern", parse_pattern(self.path))
        if self.methods is not None:
            init(self, "methods", _check_methods(self.methods))
        if self.host is not None:
            init(self, "host", check_host(self.host))

    def __str__(self) -> str:
        methods = ",".join(sorted(self.methods)) if self.methods is not None else "*"
        return f"{self.trigger_id} ({methods} {self.host or ''}{self.path} -> {self.target})"


def _check_methods(methods: Iterable[str]) -> frozenset[str]:
    if isinstance(methods, str):  # frozenset("GET") would silently mean {"G", "E", "T"}
        raise InvalidSpec(f"expected a list of methods, got {methods!r}", path="methods")
    upper = frozenset(m.upper() for m in methods)
    if not upper:
        raise InvalidSpec("no methods: expected at least one, or none for any", path="methods")
    for method in upper:
        if not _METHOD.fullmatch(method):
            raise InvalidSpec(f"invalid method {method!r}", path="methods")
    return upper


@dataclass(frozen=True, kw_only=True, slots=True)
class RouteMatch:
    route: HttpRoute
    params: dict[str, str]


@dataclass(frozen=True, kw_only=True, slots=True)
class MethodNotAllowed:
    """The path matches, but no route takes the method: answer 405 with `Allow`."""

    allowed: frozenset[str]


# Requests' (method, path, host) whose route `RouteTable.lookup` remembers; forgotten all
# at once when full, so paths that never repeat cost a table a bounded dict.
LOOKUPS_REMEMBERED = 4096


class RouteTable:
    """Routes compiled once; `match` is on the per-request hot path."""

    def __init__(self, routes: Iterable[HttpRoute]) -> None:
        self._looked_up: dict[
            tuple[str, str, str | None], tuple[HttpRoute, Mapping[str, str]] | None
        ] = {}
        self.routes = tuple(routes)
        by_host: dict[str | None, list[HttpRoute]] = {}
        for route in self.routes:
            by_host.setdefault(route.host, []).append(route)
        self._any_host = _HostTable(by_host.pop(None, []))
        self._hosts = {host: _HostTable(routes) for host, routes in by_host.items() if host}

    def match(
        self, method: str, path: str, host: str | None
    ) -> RouteMatch | MethodNotAllowed | None:
        """The route for a request, MethodNotAllowed, or None when no route has the path.

        `method` is uppercase as ASGI gives it; `host` is the Host header, if any.
        """
        table = self._hosts.get(host_key(host)) if self._hosts and host else None
        found = self._route(table, method, path)
        if found is not None:
            return found
        allowed = self._any_host.allowed(path)
        if table is not None:
            allowed |= table.allowed(path)
        if not allowed:
            return None
        return MethodNotAllowed(allowed=(allowed | {"HEAD"}) if "GET" in allowed else allowed)

    @property
    def by_host(self) -> bool:
        """Whether any route is for one host only: else a request's host changes nothing."""
        return bool(self._hosts)

    def route_for(self, method: str, path: str, host: str | None) -> RouteMatch | None:
        """The route for a request, or None: `match` without working out a 405's methods,
        for a caller that only wants to know whether a route takes it."""
        table = self._hosts.get(host_key(host)) if self._hosts and host else None
        return self._route(table, method, path)

    def lookup(
        self, method: str, path: str, host: str | None
    ) -> tuple[HttpRoute, Mapping[str, str]] | None:
        """`route_for` remembered per request line: the route and its parameters, or None.

        A table never changes (a new config makes a new one), so what it answered once it
        answers again; the same paths come again and again, and a dict lookup costs less
        than the match. The parameters are shared between the requests of one path: a
        caller that hands them on to code that may change them hands on a copy.
        """
        key = (method, path, host if self._hosts else None)
        try:
            return self._looked_up[key]
        except KeyError:
            pass
        match = self.route_for(method, path, host)
        found = None if match is None else (match.route, match.params)
        if len(self._looked_up) >= LOOKUPS_REMEMBERED:
            self._looked_up.clear()
        self._looked_up[key] = found
        return found

    def _route(self, table: _HostTable | None, method: str, path: str) -> RouteMatch | None:
        if table is not None:
            found = table.match(method, path)
            if found is not None:
                return found
        return self._any_host.match(method, path)


class _Slot:
    """All routes of one host with one path shape; their methods must not overlap."""

    def __init__(self, pattern: PathPattern) -> None:
        self.pattern = pattern
        self.routes: list[HttpRoute] = []
        # Method -> route, HEAD included wherever GET is and no route takes HEAD itself.
        self.by_method: dict[str, HttpRoute] = {}
        self.any_method: HttpRoute | None = None

    def add(self, route: HttpRoute) -> None:
        for other in self.routes:
            if route.methods is None or other.methods is None:
                overlap = "any method"
            elif route.methods & other.methods:
                overlap = ",".join(sorted(route.methods & other.methods))
            else:
                continue
            raise RouteConflict(
                f"route {route} conflicts with route {other}: same host, same path shape "
                f"and both take {overlap}"
            )
        self.routes.append(route)
        if route.methods is None:
            self.any_method = route
            return
        self.by_method.update(dict.fromkeys(route.methods, route))
        explicit = {m for r in self.routes if r.methods is not None for m in r.methods}
        if "GET" in self.by_method and "HEAD" not in explicit:
            self.by_method["HEAD"] = self.by_method["GET"]

    def pick(self, method: str) -> HttpRoute | None:
        return self.by_method.get(method, self.any_method)


class _Alternation:
    """One regex trying several routes' patterns in order; the first full match wins.

    The alternatives follow one shared leading `/`, so each starts with its first literal
    character, which lets the regex engine skip a non-matching route after one character
    comparison, in C (with a group at the start it would enter every alternative). Every
    dynamic pattern has a parameter, so `lastindex`, the last group to close, is the last
    parameter of the route that matched and tells which route that is.
    """

    def __init__(self, routes: list[HttpRoute]) -> None:
        self._regex = re.compile(_alternatives(route.pattern for route in routes))
        self._by_last_group: dict[int, tuple[HttpRoute, tuple[tuple[str, int], ...]]] = {}
        group = 0
        for route in routes:
            groups = tuple((name, group + 1 + i) for i, name in enumerate(route.pattern.params))
            group += len(groups)
            self._by_last_group[group] = (route, groups)

    def match(self, path: str) -> RouteMatch | None:
        found = self._regex.fullmatch(path)
        if found is None:
            return None
        route, groups = self._by_last_group[found.lastindex or 0]
        return RouteMatch(route=route, params={name: found[i] for name, i in groups})


def _alternatives(patterns: Iterable[PathPattern]) -> str:
    return "/(?:" + "|".join(p.regex.pattern.removeprefix("/") for p in patterns) + ")"


class _HostTable:
    def __init__(self, routes: list[HttpRoute]) -> None:
        slots: dict[tuple[str | int, ...], _Slot] = {}
        for route in routes:
            slot = slots.setdefault(route.pattern.shape, _Slot(route.pattern))
            slot.add(route)
        self._static = {s.pattern.text: s for s in slots.values() if s.pattern.is_static}
        # sorted() is stable, so patterns of equal precedence keep their configured order.
        self._dynamic = sorted(
            (s for s in slots.values() if not s.pattern.is_static),
            key=lambda s: s.pattern.precedence,
        )
        # One alternation per method, holding for each shape the route that takes it, so a
        # match is one regex call and never a loop over routes in Python.
        methods = {m for s in self._dynamic for m in s.by_method}
        self._by_method = {m: self._alternation(m) for m in methods}
        self._other_methods = self._alternation(None)
        # Whether any pattern has the path at all, so that unmatched requests (bound for a
        # legacy upstream, perhaps most of them) skip the per-route search in allowed().
        self._any_path = (
            re.compile(_alternatives(s.pattern for s in self._dynamic)) if self._dynamic else None
        )

    def _alternation(self, method: str | None) -> _Alternation | None:
        routes = [
            route
            for s in self._dynamic
            if (route := s.any_method if method is None else s.pick(method)) is not None
        ]
        return _Alternation(routes) if routes else None

    def match(self, method: str, path: str) -> RouteMatch | None:
        slot = self._static.get(path)
        if slot is not None:
            route = slot.by_method.get(method, slot.any_method)
            if route is not None:
                # A fresh dict each time: callers may hand params on to code that mutates it.
                return RouteMatch(route=route, params={})
        alternation = self._by_method.get(method, self._other_methods)
        return alternation.match(path) if alternation is not None else None

    def allowed(self, path: str) -> frozenset[str]:
        """Methods that some route takes for `path`; only for 405 answers, off the hot path."""
        slots = [self._static[path]] if path in self._static else []
        if self._any_path is not None and self._any_path.fullmatch(path):
            slots += [s for s in self._dynamic if s.pattern.regex.fullmatch(path)]
        return frozenset(m for s in slots for r in s.routes if r.methods for m in r.methods)


def http_url(data_plane_url: str, *, path: str, host: str | None = None) -> str:
    """Where an HTTP route is reached: its own host, else this gateway's data plane."""
    return (f"http://{host}" if host else data_plane_url) + path
