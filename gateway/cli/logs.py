"""`gaia logs FN`: a function's recent log lines from the gateway, and with `--follow`
each new one as it comes; `-o json` prints them as the admin API sends them, NDJSON."""

from __future__ import annotations

import json
from typing import Any

import click

from configkit.units import parse_duration
from gateway.cli.client import AdminClient
from gateway.cli.render import OUTPUT
from gateway.logs import LEVELS


def _duration(context: click.Context, parameter: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        try:
            parse_duration(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None
    return value


def describe(line: dict[str, Any]) -> str:
    """What a line says, in one column: an access line's request, or the message."""
    if "status" in line and "method" in line:
        ms = line.get("duration_ms")
        took = f" {ms:.2f} ms" if isinstance(ms, int | float) else ""
        return f"{line['method']} {line.get('path', '')} {line['status']}{took}"
    text = line.get("line", line.get("message", ""))
    stream = line.get("stream")
    return f"{stream}: {text}" if stream in ("stdout", "stderr") else str(text)


def human(line: dict[str, Any]) -> str:
    revision = line.get("revision")
    where = f"{line.get('function', '')}@{revision}" if revision else str(line.get("function", ""))
    columns = [
        str(line.get("time", "")),
        f"{line.get('level', 'info'):<7}",
        where,
        str(line.get("request_id", "-")),
        describe(line),
    ]
    return "  ".join(columns)


@click.command()
@click.argument("function")
@click.option("--revision", type=click.IntRange(min=1), help="only this revision's lines")
@click.option("-f", "--follow", is_flag=True, help="keep printing new lines as they come")
@click.option("--since", callback=_duration, help="only lines of this last while, e.g. 10m")
@click.option(
    "--level",
    type=click.Choice(list(LEVELS)),
    help="only lines of this level or above, e.g. warning",
)
@OUTPUT
def logs(
    function: str,
    revision: int | None,
    follow: bool,
    since: str | None,
    level: str | None,
    output: str,
) -> None:
    """A function's log lines: its requests, what it printed and logged, its failures."""
    params = {"follow": "true" if follow else "false"}
    if revision is not None:
        params["revision"] = str(revision)
    if since is not None:
        params["since"] = since
    if level is not None:
        params["level"] = level
    lines = AdminClient().lines(f"/v1/functions/{function}/logs", params=params, timeout=not follow)
    for text in lines:
        click.echo(text if output == "json" else human(json.loads(text)))
