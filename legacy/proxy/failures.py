"""How the old API failing is told: the reasons outcomes and answers carry, and the
502/504 `UpstreamError` for a client error, the same whichever path asked."""

from __future__ import annotations

from gateway.http.splice import CLIENT_GONE
from httpkit.client import ClientError
from legacy.ports import UpstreamError
from legacy.proxy.upstreams import Upstream

UNREACHABLE = "upstream_unreachable"
TIMEOUT = "upstream_timeout"
NO_UPSTREAM = "no_upstream"

__all__ = ["CLIENT_GONE", "NO_UPSTREAM", "TIMEOUT", "UNREACHABLE", "reason_of", "upstream_error"]


def reason_of(exc: ClientError) -> str:
    return TIMEOUT if exc.timed_out else UNREACHABLE


def upstream_error(upstream: Upstream, exc: ClientError) -> UpstreamError:
    where = f"the old API {upstream.name!r} ({upstream.origin.host}:{upstream.origin.port})"
    if exc.timed_out:
        return UpstreamError(f"{where} did not answer: {exc.message}", status=504, reason=TIMEOUT)
    return UpstreamError(
        f"{where} could not be asked: {exc.message}", status=502, reason=UNREACHABLE
    )
