"""The `python` runtime: warm pools of sandboxed worker processes per revision.

`PythonRuntime` is exported lazily: worker processes import modules of this package and
must not pay for asyncio and the gateway-side machinery (see worker.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runtime_adapters.python.runtime import PythonRuntime

__all__ = ["PythonRuntime"]


def __getattr__(name: str) -> Any:
    if name == "PythonRuntime":
        from runtime_adapters.python.runtime import PythonRuntime

        return PythonRuntime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
