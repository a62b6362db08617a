"""`gaia status`: the functions' aliases and the warm pools at a glance."""

from __future__ import annotations

import click

from gateway.cli.client import AdminClient
from gateway.cli.render import OUTPUT, age, emit_json, table, traffic_text


@click.command()
@OUTPUT
def status(output: str) -> None:
    """Functions, their aliases and the warm pools."""
    result = AdminClient().call("GET", "/v1/status")
    if output == "json":
        emit_json(result)
        return
    click.echo(f"data plane: {result['data_plane_url']}  uptime: {result['uptime_s']:.0f}s")
    rows = []
    for function in result["functions"]:
        for alias_view in function["aliases"]:
            rows.append(
                [
                    alias_view["name"],
                    traffic_text(alias_view["traffic"]),
                    "True" if alias_view["ready"] else "False",
                    age(alias_view["updated_at"]),
                ]
            )
    table(["alias", "traffic", "ready", "age"], rows)
    pools = [
        [p["revision"], p["instances"], p["ready"], p["busy"], p["starting"], p["in_flight"],
         p["queued"], p["cold_starts"]]
        for p in result["pools"]
    ]  # fmt: skip
    if pools:
        click.echo()
        headers = ["revision", "instances", "ready", "busy", "starting", "in flight", "queued"]
        table([*headers, "cold starts"], pools)
