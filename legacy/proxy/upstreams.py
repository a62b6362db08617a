"""Which old API a request goes to: `legacy.upstreams` by host and/or path prefix, else
`legacy.upstream`.

An upstream with a `host` takes only requests for that host (port and case ignored, as
HTTP triggers match hosts); one with a `prefix` only paths equal to it or under it
(`/billing` takes `/billing` and `/billing/x`, not `/billings`). Of those that take a
request the longest prefix wins, then one with a host over one without, then the first
in the file. `legacy.upstream` takes what none of them does.
"""

from __future__ import annotations

from dataclasses import dataclass

from httpkit.client import Origin
from legacy.config import LegacyConfig
from routing.routes import host_key

# The name of `legacy.upstream` in outcomes and logs (upstream names are lower-case
# letters, digits and '-', so it cannot clash).
DEFAULT_NAME = "default"


@dataclass(frozen=True, kw_only=True)
class Upstream:
    name: str
    origin: Origin
    host: str | None = None
    prefix: str | None = None

    def takes(self, host: str | None, path: str) -> bool:
        if self.host is not None and (host is None or host_key(host) != self.host):
            return False
        if self.prefix is None or self.prefix == "/":
            return True
        return path == self.prefix or path.startswith(self.prefix + "/")

    @property
    def rank(self) -> tuple[int, int]:
        return len(self.prefix or ""), self.host is not None


@dataclass(frozen=True, kw_only=True)
class NoUpstream:
    """No upstream takes the request; `message` says why, for the 502."""

    message: str


class Upstreams:
    def __init__(self, config: LegacyConfig) -> None:
        self._chosen = tuple(
            Upstream(
                name=item.name,
                origin=Origin.from_url(item.url),
                host=host_key(item.host) if item.host else None,
                prefix=item.prefix,
            )
            for item in config.upstreams
        )
        self._default = (
            Upstream(name=DEFAULT_NAME, origin=Origin.from_url(config.upstream))
            if config.upstream
            else None
        )
        # Whether a request's Host can change which upstream takes it: when none is for
        # one host, the header is not looked for.
        self.by_host = any(upstream.host is not None for upstream in self._chosen)
        # `legacy.upstream` alone: every request goes there.
        self.only = self._default if not self._chosen else None

    def choose(self, host: str | None, path: str) -> Upstream | NoUpstream:
        best: Upstream | None = None
        for upstream in self._chosen:
            if upstream.takes(host, path) and (best is None or upstream.rank > best.rank):
                best = upstream
        if best is not None:
            return best
        if self._default is not None:
            return self._default
        names = ", ".join(
            f"{u.name} ({' '.join(filter(None, [u.host, u.prefix]))})" for u in self._chosen
        )
        return NoUpstream(
            message=f"no old API takes host {host or '(none)'} path {path}: legacy.upstreams"
            f" has {names}, and legacy.upstream (for the rest) is not set"
        )
