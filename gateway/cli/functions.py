"""`gaia list`, `gaia describe`, `gaia delete` and `gaia alias delete`: the commands
that read or remove a whole function rather than one revision or alias."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from gateway.cli.client import AdminClient
from gateway.cli.errors import CliError
from gateway.cli.render import OUTPUT, age, emit_json, table, traffic_text
from gateway.cli.triggers import source_text, target_text
from routing.errors import InvalidSpec
from routing.names import check_function_name
from routing.routes import http_url
from triggers import registry as trigger_kinds


def _function_name(text: str) -> str:
    try:
        return check_function_name(text, path="function")
    except InvalidSpec as exc:
        raise CliError(exc.message) from None


@click.command("list")
@OUTPUT
def list_functions(output: str) -> None:
    """Every function: its latest revision, aliases and triggers."""
    result: list[dict[str, Any]] = AdminClient().call("GET", "/v1/functions")
    if output == "json":
        emit_json(result)
        return
    rows = [
        [
            function["name"],
            f"@{function['latest']}" if function["latest"] else "-",
            function["revisions"],
            ", ".join(a["alias"] for a in function["aliases"]),
            len(function["triggers"]),
            age(function["created_at"]),
        ]
        for function in result
    ]
    table(["name", "latest", "revisions", "aliases", "triggers", "age"], rows)


def trigger_urls(function: dict[str, Any], data_plane_url: str) -> dict[str, str]:
    """The URL of each trigger of a function view that the data plane serves, by id."""
    urls = {}
    for trigger in function["triggers"]:
        if trigger["kind"] not in trigger_kinds.names():
            continue  # a kind a newer gateway has and this CLI does not know
        kind = trigger_kinds.kind(trigger["kind"])
        if kind.route is not None:
            route = kind.route(kind.parse(trigger))
            urls[trigger["id"]] = http_url(data_plane_url, path=route.path, host=route.host)
    return urls


@click.command()
@click.argument("function")
@OUTPUT
def describe(function: str, output: str) -> None:
    """One function in one view: revisions, aliases with their traffic, triggers, URLs,
    and the endpoints of its warm revisions where its runtime has them."""
    name = _function_name(function)
    client = AdminClient()
    view: dict[str, Any] = client.call("GET", f"/v1/functions/{name}")
    revisions: list[dict[str, Any]] = client.call("GET", f"/v1/functions/{name}/revisions")
    status = client.call("GET", "/v1/status")
    urls = trigger_urls(view, status["data_plane_url"])
    pools = [p for p in status["pools"] if p["revision"].startswith(f"{name}@")]
    if output == "json":
        emit_json({"function": view, "revisions": revisions, "urls": urls, "pools": pools})
        return
    latest = f"{name}@{view['latest']}" if view["latest"] else "none ready"
    click.echo(f"{name}  latest: {latest}  created: {age(view['created_at'])} ago")
    click.echo("\nRevisions")
    table(
        ["name", "digest", "latest", "serving", "age"],
        [
            [
                r["name"],
                r["digest"][:12],
                "yes" if r["latest"] else "",
                ", ".join(r["aliases"]),
                age(r["created_at"]),
            ]
            for r in reversed(revisions)
        ],
    )
    click.echo("\nAliases")
    table(
        ["alias", "traffic", "sticky", "ready"],
        [
            [
                a["name"],
                traffic_text(a["traffic"]),
                a["sticky"] or "-",
                "yes" if a["ready"] else "no",
            ]
            for a in view["aliases"]
        ],
    )
    _endpoints(pools)
    click.echo("\nTriggers")
    if not view["triggers"]:
        click.echo(f"none: `gaia deploy {name} --route /PATH` adds an HTTP route")
        return
    table(
        ["id", "kind", "source", "target", "url"],
        [
            [t["id"], t["kind"], source_text(t), target_text(t), urls.get(t["id"], "")]
            for t in view["triggers"]
        ],
    )


def _endpoints(pools: list[dict[str, Any]]) -> None:
    rows = [
        [pool["revision"], e["url"], e["state"], e["in_flight"], e["detail"] or "-"]
        for pool in pools
        for e in pool["endpoints"]
    ]
    if rows:
        click.echo("\nEndpoints")
        table(["revision", "endpoint", "state", "in flight", "detail"], rows)


@click.command()
@click.argument("function")
@OUTPUT
def delete(function: str, output: str) -> None:
    """Delete a function with its revisions, aliases, history and triggers."""
    name = _function_name(function)
    view: dict[str, Any] = AdminClient().call("DELETE", f"/v1/functions/{name}")
    if output == "json":
        emit_json(view)
        return
    click.echo(
        f"deleted {name}: {_count(view['revisions'], 'revision')}, "
        f"{_count(len(view['aliases']), 'alias')}, {_count(len(view['triggers']), 'trigger')}"
    )


def _count(n: int, noun: str) -> str:
    plural = "es" if noun.endswith("s") else "s"
    return f"{n} {noun}{'' if n == 1 else plural}"


def alias_delete_command(split: Callable[[str], tuple[str, str]]) -> click.Command:
    """`gaia alias delete FUNCTION:ALIAS`; `split` parses the argument as `alias set` does."""

    @click.command("delete")
    @click.argument("name", metavar="FUNCTION:ALIAS")
    @OUTPUT
    def alias_delete(name: str, output: str) -> None:
        """Delete an alias and its history (not `default`, nor one a trigger targets)."""
        function, alias_name = split(name)
        view = AdminClient().call("DELETE", f"/v1/functions/{function}/aliases/{alias_name}")
        if output == "json":
            emit_json(view)
            return
        click.echo(f"deleted {view['name']} (was {traffic_text(view['traffic'])})")

    return alias_delete
