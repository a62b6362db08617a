"""Whether the splice machinery runs compiled (setup.py's Cython build of each module with
a .pxd beside it) or as the pure-Python modules: the same behaviour, about a third fewer
machine instructions per spliced request compiled."""

from __future__ import annotations

import importlib
import re
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

# The repository's root: the modules' .pxd files sit under it by their dotted names.
_ROOT = Path(__file__).resolve().parents[2]
# A .pxd's cimports: `from a.b cimport c, d as e` (a.b's declarations, or the modules
# a.b.c and a.b.d) and `cimport a.b`.
_CIMPORT = re.compile(
    r"^[ \t]*(?:from[ \t]+([\w.]+)[ \t]+cimport[ \t]+([^\n#]+)|cimport[ \t]+([\w.]+))", re.MULTILINE
)

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


def sources(name: str) -> list[Path]:
    """What the compiled `name` is built from: its .py and .pxd, and the repository's .pxd
    files its .pxd cimports (another module's declarations, or C that compiled modules
    share, as httpkit/cheadbytes.pxd), since an edit of either changes what it compiles to."""
    source = _ROOT.joinpath(*name.split(".")).with_suffix(".py")
    pxd = source.with_suffix(".pxd")
    found = [source, pxd]
    for match in _CIMPORT.finditer(pxd.read_text()):
        package, names, module = match.groups()
        if module is not None:
            candidates = [module]
        else:
            named = (name.split(" as ")[0].strip() for name in names.split(","))
            candidates = [package, *(f"{package}.{name}" for name in named)]
        for candidate in candidates:
            cimported = _ROOT.joinpath(*candidate.split(".")).with_suffix(".pxd")
            if cimported.exists() and cimported not in found:
                found.append(cimported)
    return found


def stale() -> list[str]:
    """The compiled modules older than what they are built from (`sources`): an edit not
    built yet, which the extension (imported first) hides until `pip install -e .` builds
    it again."""
    found = []
    for name in MODULES:
        built = Path(str(importlib.import_module(name).__file__))
        if built.suffix == ".py":
            continue
        if max(path.stat().st_mtime for path in sources(name)) > built.stat().st_mtime:
            found.append(name)
    return found
