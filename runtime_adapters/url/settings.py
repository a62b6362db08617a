"""A url function's revision settings (gaia.yaml, `runtime: url`, no `code:`): `urls`,
`health`, `outlier`, and the `timeout` and `concurrency` every runtime takes.

The defaults are those Envoy and Kubernetes users know: checks every 10s with a 1s
timeout (a Kubernetes probe's `periodSeconds` and `timeoutSeconds`), ejection after 5
consecutive failures for 30s (Envoy outlier detection's `consecutive_5xx` and
`base_ejection_time`).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import field_serializer, field_validator, model_validator

from configkit.issues import Issues, issue
from configkit.leaves import durations, optional, parsed, whole_numbers
from configkit.model import ConfigModel, key
from configkit.units import format_duration
from configkit.words import describe
from runtime_adapters.base import RevisionSpec
from runtime_adapters.kind import RuntimeSettings
from runtime_adapters.settings import MAX_CONCURRENCY, MAX_TIMEOUT_S, url_path

HEALTH_INTERVAL_S = 10.0
HEALTH_TIMEOUT_S = 1.0
CONSECUTIVE_FAILURES = 5
COOLDOWN_S = 30.0
# An endpoint is a whole service (a Kubernetes Service, a fleet behind a balancer),
# not one process: more requests at a time than an instance's 8.
CONCURRENCY = 100
MAX_INTERVAL_S = 3600.0

_EXAMPLE = "http://users.default.svc:8080"
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")


@dataclass(frozen=True, kw_only=True, slots=True)
class EndpointUrl:
    """`http://host:port` as stored; `host` is bare (no IPv6 brackets)."""

    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def endpoint_url(raw: object) -> EndpointUrl:
    """One endpoint: `http://host[:port]` (port 80 when left out), nothing after it."""
    expected = f"expected an http:// URL with a host and an optional port, like {_EXAMPLE}"
    if not isinstance(raw, str):
        raise ValueError(f"{expected}, got {describe(raw)}")
    try:
        parts = urlsplit(raw.strip())
    except ValueError as exc:  # an unclosed IPv6 bracket
        raise ValueError(f"{expected}, got {raw!r}: {exc}") from None
    why = None
    if parts.scheme.lower() != "http":
        why = "https is not supported" if parts.scheme.lower() == "https" else "not http://"
    elif "@" in parts.netloc:
        why = "it holds credentials"
    elif parts.path not in ("", "/"):
        why = f"it has a path ({parts.path}); a request keeps the path it came with"
    elif parts.query or parts.fragment or raw.rstrip().endswith(("?", "#")):
        why = "it has a query or fragment"
    elif not _host(parts.hostname or ""):
        why = "no host" if not parts.hostname else f"{parts.hostname!r} is no host name or IP"
    if why is not None:
        raise ValueError(f"{expected}, got {raw!r}: {why}")
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"{expected}, got {raw!r}: its port is not 1 to 65535")
    assert parts.hostname is not None  # _host checked it
    return EndpointUrl(host=parts.hostname.lower(), port=port or 80)


def _host(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))
    return True


def _urls(raw: object) -> tuple[EndpointUrl, ...]:
    """One URL or a list of them, each once."""
    if isinstance(raw, tuple) and raw and all(isinstance(u, EndpointUrl) for u in raw):
        return raw
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list | tuple) or not items:
        got = "an empty list" if isinstance(items, list | tuple) else describe(raw)
        raise ValueError(f"expected a list of http:// URLs like [{_EXAMPLE}], got {got}")
    found: list[EndpointUrl] = []
    issues: list[tuple[str, str]] = []
    for position, item in enumerate(items):
        where = f"[{position}]" if not isinstance(raw, str) else ""
        try:
            url = endpoint_url(item)
        except ValueError as exc:
            issues.append((where, str(exc)))
            continue
        if url in found:
            issues.append((where, f"expected each URL once, got {url} again"))
        found.append(url)
    if issues:
        raise Issues(*issues)
    return tuple(found)


class Health(ConfigModel):
    """`health: /healthz` or `{path, interval, timeout}`: every `interval` each endpoint
    is checked, passing when GET `path` answers 2xx or 3xx (no path: when its port
    accepts a connection) within `timeout` (at most the interval, which a shorter
    interval makes the default)."""

    path: Annotated[str | None, parsed(optional(url_path))] = None
    interval_s: Annotated[float, parsed(durations(MAX_INTERVAL_S))] = key(
        "interval", default=HEALTH_INTERVAL_S
    )
    timeout_s: Annotated[float, parsed(durations(MAX_INTERVAL_S))] = key(
        "timeout", default=HEALTH_TIMEOUT_S
    )

    @model_validator(mode="after")
    def _timeout_within_interval(self) -> Self:
        if self.timeout_s > self.interval_s and "timeout_s" not in self.model_fields_set:
            return self.model_copy(update={"timeout_s": self.interval_s})
        if self.timeout_s > self.interval_s:
            raise issue(
                "timeout",
                f"expected at most the interval ({format_duration(self.interval_s)}), so checks"
                f" do not overlap, got {format_duration(self.timeout_s)}",
            )
        return self


class Outlier(ConfigModel):
    """`outlier: {consecutive_failures, cooldown}`: an endpoint that fails this many
    requests in a row (a 5xx answer, no answer in time, or no connection) is ejected
    for `cooldown`."""

    consecutive_failures: Annotated[int, parsed(whole_numbers(1, 1000))] = CONSECUTIVE_FAILURES
    cooldown_s: Annotated[float, parsed(durations(MAX_INTERVAL_S))] = key(
        "cooldown", default=COOLDOWN_S
    )


class UrlSettings(RuntimeSettings):
    urls: Annotated[tuple[EndpointUrl, ...], parsed(_urls)]
    health: Health = Health()
    outlier: Outlier = Outlier()
    timeout_s: Annotated[float, parsed(durations(MAX_TIMEOUT_S))] = key("timeout", default=10.0)
    concurrency: Annotated[int, parsed(whole_numbers(1, MAX_CONCURRENCY))] = CONCURRENCY

    @field_validator("health", mode="before")
    @classmethod
    def _path_alone(cls, raw: object) -> object:
        return {"path": raw} if isinstance(raw, str) else raw

    @field_serializer("urls")
    def _url_texts(self, urls: tuple[EndpointUrl, ...]) -> list[str]:
        return [str(url) for url in urls]

    def spec(self, *, function: str, revision: int, digest: str, bundle_dir: Path) -> RevisionSpec:
        return RevisionSpec(
            function=function,
            revision=revision,
            digest=digest,
            runtime="url",
            bundle_dir=bundle_dir,
            timeout_s=self.timeout_s,
            concurrency=self.concurrency,
            settings=MappingProxyType(self.to_dict()),
        )
