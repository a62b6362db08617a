"""The static handler check against the import itself: it may pass what the import
refuses (the warm-up decides those), never refuse what the import finds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from runtime_adapters.python.entrypoint import missing_handler

# Ways a module's top level binds, or may bind, a name.
SOURCES = {
    "plain": "def handler(e, c): pass\n",
    "async": "async def handler(e, c): pass\n",
    "assigned": "handler = lambda e, c: None\n",
    "class": "class handler:\n    def __call__(self, e, c): pass\n",
    "imported": "from json import dumps as handler\n",
    "guarded": "try:\n    from json import loads as handler\nexcept ImportError:\n    pass\n",
    "conditional": "import sys\nif sys.maxsize:\n    def handler(e, c): pass\n",
    "walrus": "(handler := print)\n",
    "star": "from json import *\n",
    "dynamic": "globals()['handler'] = print\n",
    "declared": "def setup():\n    global handler\n    handler = print\nsetup()\n",
    "nested": "def outer():\n    def handler(e, c): pass\n",
    "other": "def handle(e, c): pass\n",
    "empty": "",
}
HANDLERS = ["mod.handler", "mod.handle", "nomod.handler", "pkg.sub.handler", "pkg.handler"]


def _tree(root: Path, source: str) -> None:
    (root / "mod.py").write_text(source)
    (root / "pkg").mkdir()
    (root / "pkg" / "__init__.py").write_text(source)
    (root / "pkg" / "sub.py").write_text(source)


def _imports(root: Path, handlers: list[str]) -> dict[str, bool]:
    """Whether a real import finds each handler, in a fresh interpreter as the worker."""
    script = (
        "import importlib, json, sys\n"
        "found = {}\n"
        "for spec in sys.argv[1:]:\n"
        "    module, _, name = spec.rpartition('.')\n"
        "    try:\n"
        "        found[spec] = hasattr(importlib.import_module(module), name)\n"
        "    except ImportError:\n"
        "        found[spec] = False\n"
        "print(json.dumps(found))\n"
    )
    answer = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, '.')\n{script}", *handlers],
        cwd=root, capture_output=True, text=True, check=True,
    )  # fmt: skip
    found: dict[str, bool] = json.loads(answer.stdout)
    return found


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_never_refuses_what_the_import_finds(tmp_path: Path, kind: str) -> None:
    _tree(tmp_path, SOURCES[kind])
    real = _imports(tmp_path, HANDLERS)
    for handler in HANDLERS:
        refused = missing_handler(tmp_path, handler)
        if real[handler]:
            assert refused is None, (kind, handler, refused)
        elif kind in {"plain", "other", "empty", "nested"}:
            # Nothing dynamic: what the import misses, the check names.
            assert refused is not None, (kind, handler)


def test_the_messages_name_what_is_there(tmp_path: Path) -> None:
    _tree(tmp_path, SOURCES["other"])
    assert missing_handler(tmp_path, "mod.handler") == (
        "expected a function 'handler' at the top level of mod.py for handler 'mod.handler',"
        " found only handle there: did you mean 'handle'?"
    )
    assert missing_handler(tmp_path, "nomod.handler") == (
        "expected nomod.py or nomod/__init__.py in the code directory for handler"
        " nomod.handler, found neither (its modules: mod and pkg)"
    )


def test_what_only_the_import_can_tell_is_left_to_it(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def handler(:\n")
    assert missing_handler(tmp_path, "broken.nope") is None  # the warm-up shows the line
    assert missing_handler(tmp_path, "json.nope") is None  # the standard library
    (tmp_path / "requirements.txt").write_text("somelib\n")
    assert missing_handler(tmp_path, "somelib.handler") is None  # an installed requirement


def test_a_web_apps_module_app_is_checked_by_its_first_attribute(tmp_path: Path) -> None:
    _tree(tmp_path, SOURCES["other"])
    assert missing_handler(tmp_path, "mod:handle.wsgi_app") is None
    assert missing_handler(tmp_path, "pkg.sub:app") == (
        "expected an app 'app' at the top level of pkg/sub.py for handler 'pkg.sub:app',"
        " found only handle there"
    )
    assert missing_handler(tmp_path, "nomod:app") == (
        "expected nomod.py or nomod/__init__.py in the code directory for handler"
        " nomod:app, found neither (its modules: mod and pkg)"
    )
