"""`gaia init`'s templates: each writes a gaia.yaml that validates and a handler that
imports and answers, and nothing is overwritten."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

import pytest

from gateway.cli.errors import CliError
from gateway.cli.init import template_names, write_project
from gateway.config import load_file


def test_the_readme_names_every_template() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert template_names() == ["cron", "http"]
    assert "--template http|cron]" in readme


@pytest.mark.parametrize("template", template_names())
def test_each_template_writes_a_valid_project(tmp_path: Path, template: str) -> None:
    written = write_project(tmp_path, "starter", template)
    assert written == [tmp_path / "gaia.yaml", tmp_path / "starter" / "main.py"]
    parsed = load_file(tmp_path / "gaia.yaml")
    function = parsed.functions["starter"]
    assert function.code == tmp_path / "starter"
    assert [trigger.kind for trigger in function.triggers] == [template]
    spec = importlib.util.spec_from_file_location("starter_main", tmp_path / "starter" / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(module.handler)


def test_the_http_template_answers_as_its_docstring_says(tmp_path: Path) -> None:
    write_project(tmp_path, "hi", "http")
    source = (tmp_path / "hi" / "main.py").read_text()
    assert source.startswith('"""hi: GET /hi?name=ada -> {"message": "hello, ada"}.')
    namespace: dict[str, object] = {}
    exec(compile(source, "main.py", "exec"), namespace)
    handler = namespace["handler"]
    assert callable(handler)
    assert handler(SimpleNamespace(query={"name": "ada"}), None) == {"message": "hello, ada"}
    assert handler(SimpleNamespace(query={}), None) == {"message": "hello, world"}


@pytest.mark.parametrize("existing", ["gaia.yaml", "hi/main.py", "hi"])
def test_an_existing_file_is_refused_and_nothing_is_written(tmp_path: Path, existing: str) -> None:
    path = tmp_path / existing
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("mine\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    with pytest.raises(CliError, match="exists already: gaia init overwrites nothing"):
        write_project(tmp_path, "hi", "http")
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    assert path.read_text() == "mine\n"
