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


# The HTTP protocol itself, not the kind: ASGI scopes, URL schemes and OpenAPI security
# schemes.
PROTOCOL = ('scope["type"] != "http"', '"type": "http"', 'self.scheme or "http"')
# Names that are also ordinary words: as a mapping's key, a subscript or a list's item (a
# JSON field, a table's column) they are the word, not the runtime; compared against, or
# passed as an argument, still the runtime.
WORDS = frozenset({"url"})


def _as_word(child: ast.Constant, parent: ast.AST | None) -> bool:
    if child.value not in WORDS:
        return False
    if isinstance(parent, ast.Dict):
        return child in parent.keys
    if isinstance(parent, ast.Subscript):
        return child is parent.slice
    return isinstance(parent, ast.List)


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
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            if any(node.module == p or node.module.startswith(p + ".") for p in packages):
                found.append(f"line {node.lineno}: imports {node.module}")
        elif isinstance(node, ast.Compare | ast.Dict | ast.Call | ast.keyword):
            for child in ast.walk(node):
                if isinstance(child, ast.Constant) and child.value in _names():
                    if _as_word(child, parents.get(child)):
                        continue
                    line = lines[child.lineno - 1]
                    if not any(snippet in line for snippet in PROTOCOL):
                        found.append(f"line {child.lineno}: names {child.value!r}")
    assert found == []


def test_the_registries_list_what_the_packages_declare() -> None:
    assert [kind.name for kind in trigger_kinds.kinds()] == list(trigger_kinds.names())
    assert [kind.name for kind in runtimes.kinds()] == list(runtimes.names())
    assert runtimes.DEFAULT in runtimes.names()
    assert not set(runtimes.PLANNED) & set(runtimes.names())
