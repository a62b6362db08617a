"""`gaia init`: a starter function and the gaia.yaml that serves it, from a template.

A template is a directory under `templates/`: `main.py.tmpl` (the function),
`gaia.yaml.tmpl`, `next.tmpl` (the command to run next) and a one-line `description`;
`${name}` in them is the function's name.
"""

from __future__ import annotations

from pathlib import Path
from string import Template

import click

from gateway.cli.errors import CliError
from gateway.cli.render import OUTPUT, emit_json
from routing.errors import InvalidSpec
from routing.names import check_function_name

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_TEMPLATE = "http"


def template_names() -> list[str]:
    return sorted(path.name for path in TEMPLATES.iterdir() if (path / "description").is_file())


def _render(template: str, file: str, name: str) -> str:
    return Template((TEMPLATES / template / file).read_text()).substitute(name=name)


def write_project(directory: Path, name: str, template: str) -> list[Path]:
    """Write `gaia.yaml` and `NAME/main.py` under `directory`; refuse if either exists."""
    files = {
        directory / "gaia.yaml": _render(template, "gaia.yaml.tmpl", name),
        directory / name / "main.py": _render(template, "main.py.tmpl", name),
    }
    existing = [path for path in files if path.exists()]
    if (directory / name).exists() and not (directory / name).is_dir():
        existing.append(directory / name)
    if existing:
        names = ", ".join(str(path) for path in existing)
        raise CliError(
            f"{names} exists already: gaia init overwrites nothing; "
            "run it in another directory or choose another function name"
        )
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return list(files)


@click.command()
@click.argument("function", default="hello")
@click.option(
    "--template",
    "-t",
    type=click.Choice(template_names()),
    default=DEFAULT_TEMPLATE,
    show_default=True,
    help="; ".join(
        f"{name}: {(TEMPLATES / name / 'description').read_text().strip()}"
        for name in template_names()
    ),
)
@OUTPUT
def init(function: str, template: str, output: str) -> None:
    """Write a starter function, FUNCTION/main.py, and a gaia.yaml serving it, here."""
    try:
        name = check_function_name(function, path="function")
    except InvalidSpec as exc:
        raise CliError(exc.message) from None
    here = Path.cwd()
    written = write_project(here, name, template)
    following = _render(template, "next.tmpl", name).strip()
    if output == "json":
        emit_json(
            {
                "function": name,
                "template": template,
                "files": [str(path) for path in written],
                "next": following,
            }
        )
        return
    for path in written:
        click.echo(f"wrote {path.relative_to(here)}")
    click.echo(f"next: {following}")
