"""HTTP triggers: routes on the data plane (`- http: {path, methods, host}`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from triggers.http.config import HttpTriggerConfig
from triggers.kind import Route, TriggerKind


def _identity(function: str, config: HttpTriggerConfig) -> str:
    methods = ",".join(sorted(config.methods)) if config.methods else "*"
    return f"http {methods} {config.host or ''}{config.path}"


def _source(spec: Mapping[str, Any]) -> str:
    methods = ",".join(spec.get("methods") or ["*"])
    return f"{methods} {spec.get('host') or ''}{spec['path']}"


def _route(config: HttpTriggerConfig) -> Route:
    methods = frozenset(config.methods) if config.methods else None
    return Route(path=config.path, methods=methods, host=config.host)


KIND = TriggerKind(
    name="http",
    description="HTTP requests to a path on the data plane",
    config=HttpTriggerConfig,
    route=_route,
    identity=_identity,
    source=_source,
)
