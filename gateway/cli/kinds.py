"""`gaia KIND history` for trigger kinds that keep their runs, and the commands a kind
brings itself (gateway/cli/main.py lists them beside its own)."""

from __future__ import annotations

import time
from typing import Any

import click

from gateway.cli.render import OUTPUT, emit_json, table
from triggers import registry as trigger_kinds
from triggers.kind import TriggerKind


def kind_group(kind: TriggerKind) -> click.Group:
    """`gaia KIND ...`: `history` for a kind whose triggers keep their runs, and the
    commands the kind brings itself."""

    @click.group(name=kind.name, help=f"{kind.name.capitalize()} triggers.")
    def group() -> None:
        pass

    for command in kind.cli_commands():
        group.add_command(command)
    if not kind.history:
        return group

    @group.command()
    @click.argument("trigger_id", metavar="TRIGGER")
    @click.option("--limit", "-n", type=click.IntRange(1, 1000), default=20, show_default=True)
    @OUTPUT
    def history(trigger_id: str, limit: int, output: str) -> None:
        """A trigger's runs, newest first: scheduled time, start delay, duration,
        replica, revision, outcome."""
        # Imported here: `gaia --help` loads these groups to list them, and the admin
        # client (httpx) is most of what the listing would cost.
        from gateway.cli.client import AdminClient

        runs: list[dict[str, Any]] = AdminClient().call(
            "GET", f"/v1/triggers/{trigger_id}/history", params={"limit": str(limit)}
        )
        if output == "json":
            emit_json(runs)
            return
        rows = [
            [
                _clock(run["scheduled"]),
                _ms(run["started"], run["scheduled"]),
                _ms(run["ended"], run["started"]),
                run["replica"],
                run["revision"] or "-",
                run["outcome"],
                run["attempts"] or "-",
                (run["error"] or "")[:80],
            ]
            for run in runs
        ]
        table(
            ["scheduled", "delay", "took", "replica", "revision", "outcome", "attempts", "error"],
            rows,
        )

    return group


KIND_GROUPS = [kind_group(kind) for kind in trigger_kinds.kinds() if kind.history or kind.commands]


def _clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


def _ms(later: float | None, earlier: float | None) -> str:
    if later is None or earlier is None:
        return "-"
    return f"{(later - earlier) * 1000:.1f} ms"
