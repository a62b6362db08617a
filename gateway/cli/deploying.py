"""What `gaia deploy` adds to a publish: the route it asks for, and what to do next
when the revision it published gets no traffic."""

from __future__ import annotations

from typing import Any

import click

from gateway.cli.client import AdminClient
from gateway.cli.render import traffic_text
from routing.names import DEFAULT_ALIAS
from triggers import registry as trigger_kinds


def route_triggers(route: str | None, methods: tuple[str, ...]) -> list[dict[str, Any]]:
    """The publish body's `triggers` for `--route PATH [--method M ...]`: one trigger of
    the kind the data plane serves, whose keys are its Route's."""
    if route is None:
        return []
    kind = next(k for k in trigger_kinds.kinds() if k.route is not None)
    keys: dict[str, Any] = {"path": route}
    if methods:
        keys["methods"] = [method.upper() for method in methods]
    return [{kind.name: keys}]


def print_deploy_hints(result: dict[str, Any], client: AdminClient) -> None:
    """Name the route added, and when no alias sends the revision traffic (same code as
    an older revision, or an alias pinned), the commands that would."""
    for identity in result["triggers_added"]:
        click.echo(f"added trigger: {identity}")
    if result["aliases"]:
        click.echo("serving: " + ", ".join(f"{result['function']}:{a}" for a in result["aliases"]))
        return
    function, number = result["function"], result["revision"]
    view = client.call("GET", f"/v1/functions/{function}")
    click.echo(f"{result['name']} gets no traffic; to send it all of an alias's traffic:")
    for alias in view["aliases"]:
        name = function if alias["alias"] == DEFAULT_ALIAS else f"{function}:{alias['alias']}"
        click.echo(f"  gaia alias set {name} {number}=100")


def default_alias_note(alias: dict[str, Any]) -> str | None:
    """`gaia alias set hello 3=100` sets `default`, which triggers send to unless they name
    another alias: allowed, as kn's `--traffic` on a service is, but said out loud, since
    new revisions stop getting its traffic."""
    if alias["alias"] != DEFAULT_ALIAS:
        return None
    if [(e["revision"], e["percent"]) for e in alias["traffic"]] == [("latest", 100)]:
        return None
    return (
        f"note: {alias['name']} no longer follows latest at 100% ({traffic_text(alias['traffic'])})"
        f", so a new deploy gets {_latest_share(alias)}% of it; "
        f"`gaia alias set {alias['function']} latest=100` restores it"
    )


def _latest_share(alias: dict[str, Any]) -> str:
    return f"{sum(e['percent'] for e in alias['traffic'] if e['revision'] == 'latest'):g}"
