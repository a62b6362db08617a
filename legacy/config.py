"""gaia.yaml `legacy:`: the old API the gateway fronts, and the ledger of its routes.

    legacy:
      upstream: http://127.0.0.1:9000     # every request no function route matches
      upstreams:                          # or several, chosen by host or path prefix
        - {name: billing, url: http://10.0.0.7:8080, prefix: /billing}
      routes:                             # the migration ledger, one entry per old route
        - {path: "/items/{id}", methods: [GET], function: items:prod, state: shadow}

A route is named by its path pattern (the HTTP trigger's syntax, so `{id}` segments
match any one segment); two entries may not share a path. Its `function` is a target as
`gaia invoke` takes it (`fn` for the default alias, or `fn:alias`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from typing import Annotated, Literal, Self, TypeVar
from urllib.parse import urlsplit

from pydantic import model_validator

from configkit.leaves import (
    boolean,
    choice,
    durations,
    optional,
    parsed,
    size,
    whole_numbers,
)
from configkit.model import ConfigModel, key
from configkit.words import describe
from routing.errors import InvalidSpec
from routing.names import check_token, parse_target
from triggers.http.config import host_name, method_list, url_path

State = Literal["legacy", "shadow", "canary", "function", "retired"]
# In migration order: a move to a later state is a promotion, and promotions are gated.
STATES: tuple[State, ...] = ("legacy", "shadow", "canary", "function", "retired")
# Methods that change data are not shadowed unless a route says `shadow_unsafe: true`.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

_UPSTREAM_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
# `$`, then `.key`, `[N]` or `[*]` steps: the paths comparisons report and `ignore` takes.
_JSON_PATH = re.compile(r"\$(?:\.[^.\[\]]+|\[(?:\d+|\*)\])*")

T = TypeVar("T")


def upstream_url(raw: object) -> str:
    expected = "an http:// or https:// URL with a host, like http://127.0.0.1:9000"
    if not isinstance(raw, str):
        raise ValueError(f"expected {expected}, got {describe(raw)}")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(f"expected {expected}, got {describe(raw)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected {expected}, got {describe(raw)}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(
            f"expected {expected}, without query, fragment or credentials, got {describe(raw)}"
        )
    return raw.rstrip("/")


def _upstream_name(raw: object) -> str:
    if not isinstance(raw, str) or not _UPSTREAM_NAME.fullmatch(raw):
        raise ValueError(
            "expected a name of 1 to 63 lower-case letters, digits or '-', starting and"
            f" ending with a letter or digit, got {describe(raw)}"
        )
    return raw


def _prefix(raw: object) -> str:
    if not isinstance(raw, str) or not raw.startswith("/") or "{" in raw or "?" in raw:
        raise ValueError(
            f"expected a path prefix starting with '/', like /billing, got {describe(raw)}"
        )
    return raw.rstrip("/") or "/"


def function_target(raw: object) -> str:
    if not isinstance(raw, str) or "@" in raw:
        raise ValueError(
            "expected a function, or function:alias, like items:prod (a route follows an"
            f" alias, so a release is a traffic shift), got {describe(raw)}"
        )
    try:
        parse_target(raw)
    except InvalidSpec as exc:
        raise ValueError(exc.message) from None
    return raw


def _header_name(raw: object) -> str:
    try:
        return check_token(raw, what="header name").lower()
    except InvalidSpec as exc:
        raise ValueError(exc.message) from None


def json_path(raw: object) -> str:
    if not isinstance(raw, str) or not _JSON_PATH.fullmatch(raw):
        raise ValueError(
            "expected a JSON path like $.created_at or $.items[*].id (`$`, then .key, [N]"
            f" or [*] steps), got {describe(raw)}"
        )
    return raw


def fraction(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
        raise ValueError(f"expected a number from 0 to 1, got {describe(raw)}")
    return float(raw)


def copies_per_second(raw: object) -> float:
    if (
        isinstance(raw, bool)
        or not isinstance(raw, int | float)
        or not math.isfinite(raw)
        or raw <= 0
    ):
        raise ValueError(f"expected copies per second, a number above 0, got {describe(raw)}")
    return float(raw)


def percent_value(raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 100:
        raise ValueError(f"expected a percent from 0 to 100, got {describe(raw)}")
    return float(raw)


def list_of(parse: Callable[[object], T], *, what: str) -> Callable[[object], tuple[T, ...]]:
    """A YAML list, each item parsed; nothing counts as an empty list."""

    def parse_list(raw: object) -> tuple[T, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list | tuple):
            raise ValueError(f"expected a list of {what}, got {describe(raw)}")
        return tuple(parse(item) for item in raw)

    return parse_list


def _models(what: str) -> Callable[[object], object]:
    def parse(raw: object) -> object:
        if raw is None:
            return []
        if not isinstance(raw, list | tuple):
            raise ValueError(f"expected a list of {what}, got {describe(raw)}")
        return list(raw)

    return parse


class UpstreamConfig(ConfigModel):
    name: Annotated[str, parsed(_upstream_name)]
    url: Annotated[str, parsed(upstream_url)]
    # Chosen when the request's Host is this one, and/or its path starts with `prefix`.
    host: Annotated[str | None, parsed(optional(host_name))] = None
    prefix: Annotated[str | None, parsed(optional(_prefix))] = None

    @model_validator(mode="after")
    def _chosen_somehow(self) -> Self:
        if self.host is None and self.prefix is None:
            raise ValueError(
                f"upstream {self.name!r} names neither host nor prefix: expected one or both,"
                " so gaia knows which requests it serves (legacy.upstream takes the rest)"
            )
        return self


class CompareConfig(ConfigModel):
    # Response headers compared besides the status and the body.
    headers: Annotated[tuple[str, ...], parsed(list_of(_header_name, what="header names"))] = (
        "content-type",
    )
    # JSON paths never compared, on top of the noise learned from the old API itself.
    ignore: Annotated[tuple[str, ...], parsed(list_of(json_path, what="JSON paths"))] = ()


class LegacyRouteConfig(ConfigModel):
    path: Annotated[str, parsed(url_path)]
    methods: Annotated[tuple[str, ...], parsed(method_list)] = ("GET",)
    # None only while the route is `legacy`: nothing takes it over yet.
    function: Annotated[str | None, parsed(optional(function_target))] = None
    state: Annotated[State, parsed(choice(STATES))] = "legacy"
    # The share of the route's requests the function answers; `canary` only.
    percent: Annotated[float | None, parsed(optional(percent_value))] = None
    shadow_unsafe: Annotated[bool, parsed(boolean)] = False
    compare: CompareConfig = CompareConfig()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.state != "legacy" and self.function is None:
            raise ValueError(
                f"state {self.state} needs a function to send the route to:"
                " expected function: NAME or NAME:ALIAS"
            )
        if self.state == "canary" and self.percent is None:
            raise ValueError("state canary needs percent: the share of requests (0 to 100)")
        if self.state != "canary" and self.percent is not None:
            raise ValueError(
                f"percent is for state canary only, and this route is {self.state}:"
                " expected no percent"
            )
        return self

    def to_dict(self) -> dict[str, object]:
        data = super().to_dict()
        data["methods"] = sorted(self.methods)
        return data


class ShadowConfig(ConfigModel):
    # Copies a second per route (a token bucket holding one second's worth): a busy
    # route's copies would otherwise cost the client as much CPU as its own requests.
    rate: Annotated[float, parsed(copies_per_second)] = 10.0
    # Copies waiting for a function; beyond this they are dropped and counted.
    queue: Annotated[int, parsed(whole_numbers(1, 1_000_000))] = 1000
    # Copies compared at the same time.
    concurrency: Annotated[int, parsed(whole_numbers(1, 1024))] = 8
    # The share of shadowed requests asked of the old API twice, to learn its noise.
    noise_sample: Annotated[float, parsed(fraction)] = 0.1
    # Answers longer than this are streamed on and not compared.
    capture_limit: Annotated[int, parsed(size)] = key("capture", default=1024 * 1024)


class GatesConfig(ConfigModel):
    # shadow → canary: the mismatch rate must be under this, over at least min_samples.
    mismatch_rate: Annotated[float, parsed(fraction)] = 0.01
    min_samples: Annotated[int, parsed(whole_numbers(1))] = 100


class LegacyConfig(ConfigModel):
    upstream: Annotated[str | None, parsed(optional(upstream_url))] = None
    upstreams: Annotated[tuple[UpstreamConfig, ...], parsed(_models("upstreams"))] = ()
    connect_timeout_s: Annotated[float, parsed(durations(300.0))] = key(
        "connect_timeout", default=2.0
    )
    read_timeout_s: Annotated[float, parsed(durations(3600.0))] = key("read_timeout", default=30.0)
    # Fallbacks to the old API after a function failed: at most this share of requests extra.
    retry_budget: Annotated[float, parsed(fraction)] = 0.1
    shadow: ShadowConfig = ShadowConfig()
    gates: GatesConfig = GatesConfig()
    routes: Annotated[tuple[LegacyRouteConfig, ...], parsed(_models("routes"))] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.upstream is None and not self.upstreams:
            raise ValueError(
                "legacy names no old API: expected upstream: URL, or upstreams: a list of"
                " {name, url, host or prefix}"
            )
        _unique((u.name for u in self.upstreams), what="upstream name")
        _unique((r.path for r in self.routes), what="route path")
        return self

    def route(self, path: str) -> LegacyRouteConfig | None:
        return next((route for route in self.routes if route.path == path), None)


def _unique(values: Iterable[str], *, what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{what} {value!r} appears twice: expected each once")
        seen.add(value)
