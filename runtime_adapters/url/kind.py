"""The url runtime as the registry sees it."""

from __future__ import annotations

from runtime_adapters.base import Runtime
from runtime_adapters.kind import RuntimeContext, RuntimeKind
from runtime_adapters.url.settings import UrlSettings


def start(context: RuntimeContext) -> Runtime:
    from runtime_adapters.url.runtime import UrlRuntime

    return UrlRuntime()


KIND = RuntimeKind(
    name="url",
    description="endpoints that run elsewhere, health-checked and balanced",
    settings=UrlSettings,
    needs_code=False,
    runtime="runtime_adapters.url.kind:start",
)
