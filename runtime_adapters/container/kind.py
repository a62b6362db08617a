"""The container runtime as the registry sees it."""

from __future__ import annotations

from runtime_adapters.base import Runtime
from runtime_adapters.container.settings import ContainerSettings
from runtime_adapters.kind import RuntimeContext, RuntimeKind


def start(context: RuntimeContext) -> Runtime:
    from runtime_adapters.container.runtime import ContainerRuntime

    return ContainerRuntime(state_dir=context.state_dir, log_sink=context.log_sink)


KIND = RuntimeKind(
    name="container",
    description="warm sandboxed instances of any command serving HTTP on $PORT",
    settings=ContainerSettings,
    needs_code=True,
    runtime="runtime_adapters.container.kind:start",
)
