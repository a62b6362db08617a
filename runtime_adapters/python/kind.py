"""The python runtime as the registry sees it. Kept apart from the package's
`__init__`, which worker processes import and which must stay lean."""

from __future__ import annotations

from runtime_adapters.base import Runtime
from runtime_adapters.kind import RuntimeContext, RuntimeKind
from runtime_adapters.python.settings import PythonSettings


def start(context: RuntimeContext) -> Runtime:
    from runtime_adapters.python.runtime import PythonRuntime

    return PythonRuntime(
        state_dir=context.state_dir, spares=context.spares, log_sink=context.log_sink
    )


KIND = RuntimeKind(
    name="python",
    description="warm sandboxed worker processes running a Python handler",
    settings=PythonSettings,
    needs_code=True,
    runtime="runtime_adapters.python.kind:start",
)
