"""Whether the splice machinery runs compiled (setup.py's Cython build of each module with
a .pxd beside it) or as the pure-Python modules: the same behaviour, about a third fewer
machine instructions per spliced request compiled."""

from __future__ import annotations

import importlib
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

# The modules setup.py compiles: those with a .pxd (tests/gateway/http/test_compiled.py
# holds the two lists equal).
MODULES = (
    "httpkit.client",
    "gateway.http.splice",
    "gateway.http.exchange",
    "gateway.http.wire",
    "httpkit.headers",
    "gateway.logs",
    "gateway.accesslog",
    "gateway.metrics",
    "runtime_adapters.histogram",
    "runtime_adapters.admission",
    "runtime_adapters.slots",
    "runtime_adapters.lease",
    "runtime_adapters.container.lease",
    "runtime_adapters.python.lease",
    "gateway.splice_plan",
    "triggers.http.splice",
    "runtime_adapters.upstream_headers",
    "runtime_adapters.python.http_serve",
    "legacy.quantiles",
    "legacy.evidence",
    "legacy.discovery.table",
    "legacy.router",
    "legacy.done",
    "legacy.handover",
    "legacy.proxy.splice",
    "legacy.proxy.headers",
    "legacy.proxy.request",
    "legacy.proxy.proxy",
    "limits.bucket",
)


def compiled_modules() -> dict[str, bool]:
    """Each module's name, and whether what was imported is the C extension."""
    return {
        name: str(importlib.import_module(name).__file__).endswith(tuple(EXTENSION_SUFFIXES))
        for name in MODULES
    }


def build() -> str:
    """ "compiled", "pure", or "partly compiled" (a build gone wrong: setup.py keeps all or
    none)."""
    states = set(compiled_modules().values())
    if states == {True}:
        return "compiled"
    if states == {False}:
        return "pure"
    return "partly compiled"


def stale() -> list[str]:
    """The compiled modules older than their .py or .pxd: an edit not built yet, which the
    extension (imported first) hides until `pip install -e .` builds it again."""
    found = []
    for name in MODULES:
        built = Path(str(importlib.import_module(name).__file__))
        if built.suffix == ".py":
            continue
        source = built.parent / (built.name.split(".")[0] + ".py")
        if max(source.stat().st_mtime, source.with_suffix(".pxd").stat().st_mtime) > (
            built.stat().st_mtime
        ):
            found.append(name)
    return found
