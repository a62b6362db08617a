"""Every runtime, by the module path of its `kind` module (see runtime_adapters.kind).

A new runtime is one package with a `kind` module declaring `KIND` and one line here.
"""

from __future__ import annotations

from configkit.registry import Registry
from runtime_adapters.kind import RuntimeKind

PACKAGES: dict[str, str] = {
    "container": "runtime_adapters.container.kind",
    "python": "runtime_adapters.python.kind",
    "url": "runtime_adapters.url.kind",
}
# A function without `runtime:` runs on this one.
DEFAULT = "python"

# Runtimes DESIGN.md describes that are not built yet, with the function keys that
# belong to them: both are answered "not available yet" rather than as typos.
PLANNED: dict[str, tuple[str, ...]] = {}


_KINDS = Registry(RuntimeKind, PACKAGES)
names = _KINDS.names
kind = _KINDS.kind
kinds = _KINDS.kinds


def chosen(raw: object) -> RuntimeKind | None:
    """The runtime a function's `runtime:` value names (DEFAULT for none), or None."""
    name = DEFAULT if raw is None else raw
    return kind(name) if isinstance(name, str) and name in PACKAGES else None
