"""Is a handler there? Read from the code's source with `ast`, never by importing it.

A check before publishing must not run the function's code in the gateway (its
top-level statements could do anything there, outside the sandbox), and `--dry-run` must
answer without warming a worker. So this only reads: the module's file, and the names
its top level binds. It refuses only what is certain to fail the import in the worker;
whatever it cannot decide (a module from requirements.txt or the standard library, a
compiled module, `from x import *`, a module `__getattr__`, names set through
`globals()`) is left to the warm-up in the sandbox, which is the authority.
"""

from __future__ import annotations

import ast
import difflib
import sys
from pathlib import Path

from configkit.words import listing

REQUIREMENTS = "requirements.txt"
# Writing these can bind a module attribute no statement names.
_DYNAMIC = frozenset({"globals", "vars", "setattr", "exec", "eval", "__dict__", "modules"})


def missing_handler(code: Path, handler: str) -> str | None:
    """Why `handler` (`module.function`, or `module:app` for a web app) cannot be found in
    `code`, or None if it may be."""
    if ":" in handler:  # module:app.attr: the module's top level must bind `app`
        module, _, attrs = handler.partition(":")
        name, what = attrs.split(".")[0], "an app"
    else:
        module, _, name = handler.rpartition(".")
        what = "a function"
    parts = module.split(".")
    candidates = [Path(*parts).with_suffix(".py"), Path(*parts, "__init__.py")]
    source = next((code / c for c in candidates if (code / c).is_file()), None)
    if source is None:
        return _no_module(code, module, handler, candidates)
    try:
        tree = ast.parse(source.read_bytes(), filename=str(source))
    except (SyntaxError, ValueError):
        return None  # the warm-up reports it with the function's own file and line
    bound, dynamic = _top_level_names(tree)
    if name in bound or dynamic:
        return None
    relative = source.relative_to(code).as_posix()
    functions = sorted(n for n in bound if not n.startswith("_"))
    have = f"only {listing(functions, last='and')}" if functions else "nothing"
    close = difflib.get_close_matches(name, functions, n=1)
    return (
        f"expected {what} {name!r} at the top level of {relative} for handler"
        f" {handler!r}, found {have} there" + (f": did you mean {close[0]!r}?" if close else "")
    )


def _no_module(code: Path, module: str, handler: str, candidates: list[Path]) -> str | None:
    parts = module.split(".")
    if (code / REQUIREMENTS).is_file() or parts[0] in sys.stdlib_module_names:
        return None  # it may come from an installed requirement or the standard library
    if (code / Path(*parts)).is_dir() or any(code.glob(f"{Path(*parts)}.*")):
        return None  # a namespace package or a compiled module: the import decides
    found = sorted(
        p.stem if p.is_file() else p.name
        for p in code.iterdir()
        if (p.suffix == ".py" and p.is_file()) or (p / "__init__.py").is_file()
    )
    there = f"its modules: {listing(found, last='and')}" if found else "it has no modules"
    expected = " or ".join(c.as_posix() for c in candidates)
    return (
        f"expected {expected} in the code directory for handler {handler}, found neither ({there})"
    )


def _top_level_names(tree: ast.Module) -> tuple[set[str], bool]:
    """The names a module's top level binds, and whether it may bind others at run time."""
    bound: set[str] = set()
    dynamic = False
    pending: list[ast.AST] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
            dynamic = dynamic or node.name == "__getattr__" or _writes_globals(node)
            continue  # its body is its own scope
        if isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                if alias.name == "*":
                    dynamic = True
                bound.add(alias.asname or alias.name.split(".")[0])
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.MatchAs | ast.MatchStar | ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif _is_dynamic(node):
            dynamic = True
        pending.extend(ast.iter_child_nodes(node))
    return bound, dynamic


def _writes_globals(scope: ast.AST) -> bool:
    """A def or class body that declares a `global` or reaches the module's namespace."""
    return any(isinstance(n, ast.Global) or _is_dynamic(n) for n in ast.walk(scope))


def _is_dynamic(node: ast.AST) -> bool:
    if isinstance(node, ast.Name):
        return node.id in _DYNAMIC
    return isinstance(node, ast.Attribute) and node.attr in _DYNAMIC
