"""`gaia migrate`: the migration ledger. Status with the evidence, the routes discovery
learned, adding a route, moving one through its states, and its history."""

from __future__ import annotations

import getpass
import socket
from typing import Any

import click

from gateway.cli.client import AdminClient
from gateway.cli.errors import CliError
from gateway.cli.render import OUTPUT, age, emit_json, table
from legacy.config import STATES

BY = click.option(
    "--by",
    default=None,
    help="who makes the change, as history records it [default: user@host]",
)


def default_actor() -> str:
    """user@host: the admin API's one token cannot say who is asking, so the CLI does."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}ms"


@click.group()
def migrate() -> None:
    """The migration ledger: take the old API's routes over one at a time, on evidence."""


@migrate.command()
@OUTPUT
def status(output: str) -> None:
    """Every ledger route with its evidence, and the share of old-API traffic taken over."""
    result: dict[str, Any] = AdminClient().call("GET", "/v1/migrate")
    if output == "json":
        emit_json(result)
        return
    click.echo(
        f"taken over by functions: {_percent(result['taken_over'])} of the old API's traffic"
        f" ({result['served_by_functions']} of {result['requests']} requests)"
    )
    rows = [_status_row(route) for route in result["routes"]]
    table(
        [
            "path",
            "methods",
            "state",
            "percent",
            "function",
            "by function",
            "mismatch",
            "dropped",
            "skipped",
            "noise",
            "errors old",
            "errors fn",
            "p50 old",
            "p50 fn",
            "next",
        ],
        rows,
    )


def _status_row(route: dict[str, Any]) -> list[object]:
    evidence = route["evidence"]
    following = route["next"]
    nxt = "-"
    if following is not None:
        nxt = f"{following['state']}: {'ready' if following['allowed'] else 'gated'}"
    percent = "" if route["percent"] is None else f"{route['percent']:g}%"
    head = [
        route["path"],
        ",".join(route["methods"]),
        route["state"],
        percent,
        route["function"] or "-",
    ]
    if evidence is None:
        return [*head, "-", "-", "-", "-", "", "-", "-", "-", "-", nxt]
    mismatch = f"{_percent(evidence['mismatch_rate'])} of {evidence['samples']}"
    return [
        *head,
        _percent(evidence["function_share"]),
        mismatch,
        evidence["shadow_dropped"],
        evidence["shadow_skipped"],
        ",".join(evidence["noise_paths"]),
        _percent(evidence["legacy"]["error_rate"]),
        _percent(evidence["function"]["error_rate"]),
        _ms(evidence["legacy"]["p50_ms"]),
        _ms(evidence["function"]["p50_ms"]),
        nxt,
    ]


@migrate.command()
@OUTPUT
def discover(output: str) -> None:
    """The old API's routes learned from its traffic, most traffic first."""
    result: list[dict[str, Any]] = AdminClient().call("GET", "/v1/migrate/discovered")
    if output == "json":
        emit_json(result)
        return
    rows = [
        [
            route["pattern"],
            ", ".join(f"{method} {count}" for method, count in route["methods"].items()),
            route["requests"],
            _percent(route["share"]),
            _percent(route["error_rate"]),
            _ms(route["p50_ms"]),
            _ms(route["p99_ms"]),
            "yes" if route["in_ledger"] else "",
        ]
        for route in result
    ]
    table(["pattern", "methods", "requests", "share", "errors", "p50", "p99", "in ledger"], rows)


@migrate.command()
@click.argument("pattern")
@click.option("--function", "function", required=True, help="FUNCTION or FUNCTION:ALIAS")
@click.option("--methods", help="e.g. GET,POST [default: as discovered, else GET]")
@BY
@OUTPUT
def add(pattern: str, function: str, methods: str | None, by: str | None, output: str) -> None:
    """Put an old route in the ledger (state legacy: the old API keeps answering it)."""
    body: dict[str, Any] = {"path": pattern, "function": function, "by": by or default_actor()}
    if methods is not None:
        body["methods"] = [m.strip().upper() for m in methods.split(",") if m.strip()]
        if not body["methods"]:
            raise CliError(f"--methods {methods!r}: expected methods like GET,POST")
    _show_route(AdminClient().call("POST", "/v1/migrate/routes", json=body), output)


@migrate.command("set")
@click.argument("route", metavar="ROUTE")
@click.argument("state", type=click.Choice(STATES))
@click.option("--percent", type=float, help="canary: the share of requests the function answers")
@click.option("--force", is_flag=True, help="promote even when the gate refuses")
@BY
@OUTPUT
def set_state(
    route: str, state: str, percent: float | None, force: bool, by: str | None, output: str
) -> None:
    """Move a route to STATE; a promotion its gate refuses says why, with the numbers."""
    body: dict[str, Any] = {
        "path": route,
        "state": state,
        "force": force,
        "by": by or default_actor(),
    }
    if percent is not None:
        body["percent"] = percent
    _show_route(AdminClient().call("POST", "/v1/migrate/routes/state", json=body), output)


def _show_route(route: dict[str, Any], output: str) -> None:
    if output == "json":
        emit_json(route)
        return
    row = _status_row(route)
    table(
        ["path", "methods", "state", "percent", "function", "mismatch", "next"],
        [[*row[:5], row[6], row[-1]]],
    )


@migrate.command()
@click.argument("route", metavar="ROUTE")
@OUTPUT
def history(route: str, output: str) -> None:
    """Every change of a route, oldest first: what, on which evidence, by whom."""
    result: list[dict[str, Any]] = AdminClient().call(
        "GET", "/v1/migrate/routes/history", params={"path": route}
    )
    if output == "json":
        emit_json(result)
        return
    rows = []
    for change in result:
        evidence = change["evidence"] or {}
        gate = change["gate"] or ""
        rows.append(
            [
                age(change["at"]) + " ago",
                change["by"],
                change["channel"],
                "; ".join(change["changes"]),
                (
                    f"{_percent(evidence['mismatch_rate'])} of {evidence['samples']}"
                    if evidence
                    else "-"
                ),
                _percent(evidence.get("legacy_error_rate")),
                _percent(evidence.get("function_error_rate")),
                ("FORCED past: " if change["forced"] else "") + gate,
            ]
        )
    table(["when", "by", "via", "change", "mismatch", "errors old", "errors fn", "gate"], rows)
