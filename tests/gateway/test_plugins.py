"""The gateway names no trigger kind and no runtime: it loops over the registries, so a
new kind or runtime is a package of its own and a line in its registry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from runtime_adapters import registry as runtimes
from triggers import registry as trigger_kinds

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"
# The data plane is the HTTP server the http kind's routes run on: it answers with that
# package's responses and labels its invocations `http`.
SERVES_HTTP = GATEWAY / "dataplane.py"


# The HTTP protocol itself, not the kind: ASGI scopes and OpenAPI security schemes; and
# the word, not the runtime: the `url` column of `gaia describe`'s triggers.
PROTOCOL = ('scope["type"] != "http"', '"type": "http"', '"target", "url"]')


def _sources() -> list[Path]:
    return sorted(path for path in GATEWAY.rglob("*.py") if path != SERVES_HTTP)


def _names() -> set[str]:
    return {*trigger_kinds.names(), *runtimes.names()}


@pytest.mark.parametrize("path", _sources(), ids=lambda path: str(path.relative_to(GATEWAY)))
def test_no_gateway_module_imports_or_compares_against_a_kind_or_runtime(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    tree = ast.parse(text)
    packages = {trigger_kinds.PACKAGES[name] for name in trigger_kinds.names()} | {
        module.rsplit(".", 1)[0] for module in runtimes.PACKAGES.values()
    }
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if any(node.module == p or node.module.startswith(p + ".") for p in packages):
                found.append(f"line {node.lineno}: imports {node.module}")
        elif isinstance(node, ast.Compare | ast.Dict | ast.Call | ast.keyword):
            for child in ast.walk(node):
                if isinstance(child, ast.Constant) and child.value in _names():
                    line = lines[child.lineno - 1]
                    if not any(snippet in line for snippet in PROTOCOL):
                        found.append(f"line {child.lineno}: names {child.value!r}")
    assert found == []


def test_the_registries_list_what_the_packages_declare() -> None:
    assert [kind.name for kind in trigger_kinds.kinds()] == list(trigger_kinds.names())
    assert [kind.name for kind in runtimes.kinds()] == list(runtimes.names())
    assert runtimes.DEFAULT in runtimes.names()
    assert not set(runtimes.PLANNED) & set(runtimes.names())
