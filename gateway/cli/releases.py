"""Releases: apply a gaia.yaml, deploy a revision, shift an alias's traffic, roll it
back, list revisions."""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import click
import yaml

from configkit.source import load_yaml
from gateway import bundles
from gateway.cli.client import AdminClient, file_error_text
from gateway.cli.deploying import default_alias_note, print_deploy_hints, route_triggers
from gateway.cli.errors import CliError
from gateway.cli.functions import alias_delete_command
from gateway.cli.migrate import BY, default_actor
from gateway.cli.progress import DeployProgress
from gateway.cli.render import OUTPUT, age, emit_json, table, traffic_text
from gateway.config import ConfigError, load_file
from gateway.errors import InvalidInput
from routing.errors import InvalidSpec
from routing.names import LATEST, parse_revision_text, parse_target


def _client() -> AdminClient:
    return AdminClient()


@click.command()
@click.option("-f", "--file", "config_file", required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="print the plan, change nothing")
@BY
@OUTPUT
def apply(config_file: Path, dry_run: bool, by: str | None, output: str) -> None:
    """Apply a gaia.yaml: all of it or nothing."""
    if not config_file.is_file():
        raise CliError(f"{config_file}: no such file")
    try:
        parsed = load_file(config_file, check_code=True)  # local validation: errors name this file
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    text = config_file.read_text()
    document = yaml.safe_load(text) or {}
    packed = {name: _pack(fn.code) for name, fn in parsed.functions.items() if fn.code}
    response = _client().request(
        "POST",
        "/v1/apply",
        json={
            "file": str(config_file),
            "document": document,
            "bundles": packed,
            "dry_run": dry_run,
            "by": by or default_actor(),
        },
    )
    if response.status_code >= 400:
        _, source = load_yaml(text, str(config_file))
        raise CliError(file_error_text(response, file=str(config_file), line_of=source.line_of))
    result = response.json()
    if output == "json":
        emit_json(result)
        return
    rows = []
    for plan in result["functions"]:
        aliases = ", ".join(sorted(plan["aliases"])) or "-"
        rows.append(
            [
                plan["function"],
                f"@{plan['revision']}" + (" (new)" if plan["created_revision"] else ""),
                plan["digest"][:12],
                aliases,
                "+" + str(len(plan["triggers_added"])) + " -" + str(len(plan["triggers_removed"])),
            ]
        )
    table(["function", "revision", "digest", "aliases changed", "triggers"], rows)
    ledger = result.get("legacy")
    if ledger is not None:
        click.echo(
            "legacy routes: "
            + ", ".join(f"{len(ledger[k])} {k}" for k in ("added", "changed", "removed"))
        )
    click.echo("dry run: nothing changed" if dry_run else "applied")


def _pack(code: Path) -> str:
    try:
        return base64.b64encode(bundles.pack(code)).decode()
    except InvalidInput as exc:
        raise CliError(f"{code}: {exc.message}") from None


@click.command()
@click.argument("function")
@click.option("--code", type=click.Path(path_type=Path), default=Path("."), show_default=True)
@click.option(
    "--handler", help="module.function, or module:app for an asgi/wsgi app [default: main.handler]"
)
@click.option("--env", "env", multiple=True, help="NAME=VALUE, repeatable")
@click.option("--timeout", help="e.g. 10s")
@click.option("--memory", help="e.g. 256Mi")
@click.option("--concurrency", type=int)
@click.option("--dry-run", is_flag=True, help="check the code and settings, change nothing")
@click.option("--route", help="add an HTTP trigger on this path, e.g. /hello/{name}")
@click.option(
    "--method", "methods", multiple=True, help="the route's HTTP method, repeatable [default: any]"
)
@OUTPUT
def deploy(
    function: str,
    code: Path,
    handler: str | None,
    env: tuple[str, ...],
    timeout: str | None,
    memory: str | None,
    concurrency: int | None,
    dry_run: bool,
    route: str | None,
    methods: tuple[str, ...],
    output: str,
) -> None:
    """Publish a directory as the function's next revision; `--route` gives it a URL."""
    if methods and route is None:
        raise CliError("--method needs --route: it is the method of the route deploy adds")
    config: dict[str, Any] = {}
    if handler:
        config["handler"] = handler
    if env:
        config["env"] = dict(_pair(item, "--env") for item in env)
    if timeout:
        config["timeout"] = timeout
    if memory:
        config["memory"] = memory
    if concurrency is not None:
        config["concurrency"] = concurrency
    progress = DeployProgress(quiet=output == "json")
    with progress.stage("package"):
        packed = _pack(code)
    with progress.waiting("publishing…"):
        result = _client().stages(
            "POST",
            f"/v1/functions/{function}/revisions",
            json={
                "code": packed,
                "config": config,
                "dry_run": dry_run,
                "triggers": route_triggers(route, methods),
            },
            on_stage=progress.done,
        )
    result["timings_ms"] = {"package": progress.laps["package"], **result.get("timings_ms", {})}
    if output == "json":
        emit_json(result)
        return
    if dry_run:
        would = "would be created" if result["created"] else "exists already, same digest"
        click.echo(f"dry run: {result['name']} {would}; nothing changed")
        return
    verb = "created" if result.get("created") else "unchanged, same digest as"
    click.echo(f"{verb} {result['name']} (digest {result['digest'][:12]})")
    for url in result.get("urls", []):
        click.echo(f"  {url}")
    print_deploy_hints(result, _client())


def _pair(text: str, option: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise CliError(f"{option} {text!r}: expected NAME=VALUE")
    return name, value


@click.group()
def alias() -> None:
    """Show or set an alias's traffic."""


def _split_alias(text: str) -> tuple[str, str]:
    try:
        target = parse_target(text, path="alias")
    except InvalidSpec as exc:
        raise CliError(exc.message) from None
    if target.revision is not None or target.alias is None:
        raise CliError(f"{text!r}: expected FUNCTION:ALIAS")
    return target.function, target.alias


@alias.command("set")
@click.argument("name", metavar="FUNCTION:ALIAS")
@click.argument("traffic", nargs=-1, required=True, metavar="REVISION=PERCENT...")
@click.option("--tag", "tags", multiple=True, help="REVISION=TAG, repeatable")
@click.option("--sticky", help="header:NAME, cookie:NAME or query:NAME")
@OUTPUT
def alias_set(
    name: str, traffic: tuple[str, ...], tags: tuple[str, ...], sticky: str | None, output: str
) -> None:
    """Point an alias at revisions, e.g. `gaia alias set hello:prod 1=90 latest=10`."""
    function, alias_name = _split_alias(name)
    tag_of: dict[str, str] = {}
    for item in tags:
        revision_text, tag = _pair(item, "--tag")
        if revision_text in tag_of:
            raise CliError(f"--tag names revision {revision_text} twice: expected one tag each")
        tag_of[revision_text] = tag
    entries: list[dict[str, Any]] = []
    for item in traffic:
        revision_text, percent_text = _pair(item, "traffic")
        revision_text = revision_text.removeprefix("@")
        try:
            revision: int | str = LATEST
            if revision_text != LATEST:
                revision = parse_revision_text(revision_text)
            percent = float(percent_text.rstrip("%"))
        except InvalidSpec as exc:
            raise CliError(f"traffic {item!r}: {exc.message}") from None
        except ValueError:
            raise CliError(f"traffic {item!r}: expected REVISION=PERCENT") from None
        if not math.isfinite(percent):
            raise CliError(f"traffic {item!r}: expected REVISION=PERCENT, a number from 0 to 100")
        entry: dict[str, Any] = {"revision": revision, "percent": percent}
        if revision_text in tag_of:
            entry["tag"] = tag_of.pop(revision_text)
        entries.append(entry)
    if tag_of:
        raise CliError(f"--tag names revision {next(iter(tag_of))}, which has no traffic entry")
    body: dict[str, Any] = {"traffic": entries}
    if sticky:
        body["sticky"] = sticky
    client = _client()
    path = f"/v1/functions/{function}/aliases/{alias_name}"
    # A traffic change keeps the alias's limit and fallback, which are not traffic.
    existing = client.request("GET", path)
    current = existing.json() if existing.status_code == 200 else {}
    for key in ("fallback", "rate_limit"):
        if current.get(key) is not None:
            body[key] = current[key]
    result = client.call("PUT", path, json=body)
    _show_alias(result, output)
    note = default_alias_note(result)
    if note and output != "json":
        click.echo(note)


@alias.command("show")
@click.argument("name", metavar="FUNCTION:ALIAS")
@OUTPUT
def alias_show(name: str, output: str) -> None:
    """Show an alias's traffic."""
    function, alias_name = _split_alias(name)
    _show_alias(_client().call("GET", f"/v1/functions/{function}/aliases/{alias_name}"), output)


@alias.command("history")
@click.argument("name", metavar="FUNCTION:ALIAS")
@OUTPUT
def alias_history(name: str, output: str) -> None:
    """Every traffic change of an alias, oldest first."""
    function, alias_name = _split_alias(name)
    result = _client().call("GET", f"/v1/functions/{function}/aliases/{alias_name}/history")
    if output == "json":
        emit_json(result)
        return
    rows = [
        [
            age(change["at"]) + " ago",
            change["by"],
            traffic_text(change["from"]["traffic"]) if change["from"] else "-",
            traffic_text(change["to"]["traffic"]),
        ]
        for change in result
    ]
    table(["when", "by", "from", "to"], rows)


@click.command()
@click.argument("name", metavar="FUNCTION:ALIAS")
@OUTPUT
def rollback(name: str, output: str) -> None:
    """Restore an alias's traffic from before its last change."""
    function, alias_name = _split_alias(name)
    result = _client().call("POST", f"/v1/functions/{function}/aliases/{alias_name}/rollback")
    _show_alias(result, output)


def _show_alias(result: dict[str, Any], output: str) -> None:
    if output == "json":
        emit_json(result)
        return
    rows = [
        [
            f"{entry['percent']:g}%",
            entry["revision"],
            entry.get("resolved_revision"),
            entry.get("tag") or "",
        ]
        for entry in result["traffic"]
    ]
    click.echo(
        f"{result['name']}  sticky: {result.get('sticky') or '-'}  age: {age(result['updated_at'])}"
    )
    table(["percent", "revision", "serving", "tag"], rows)


@click.command()
@click.argument("function")
@OUTPUT
def revisions(function: str, output: str) -> None:
    """List a function's revisions."""
    result = _client().call("GET", f"/v1/functions/{function}/revisions")
    if output == "json":
        emit_json(result)
        return
    rows = [
        [
            r["name"],
            r["digest"][:12],
            "yes" if r["latest"] else "",
            ", ".join(r["aliases"]),
            age(r["created_at"]),
        ]
        for r in reversed(result)
    ]
    table(["name", "digest", "latest", "aliases", "age"], rows)


alias.add_command(alias_delete_command(_split_alias))
