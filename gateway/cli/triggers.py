"""`gaia triggers`: every trigger and the live state of event sources; `gaia KIND
history` for kinds that keep runs. What each kind shows comes from the registry."""

from __future__ import annotations

import time
from typing import Any

import click

from gateway.cli.client import AdminClient
from gateway.cli.render import OUTPUT, emit_json, table
from triggers import registry as trigger_kinds
from triggers.kind import TriggerKind


@click.group(invoke_without_command=True)
@OUTPUT
@click.pass_context
def triggers(ctx: click.Context, output: str) -> None:
    """List triggers: what fires them, their target, and for queue triggers their
    partitions, lag and counts. `gaia triggers show ID` details one."""
    if ctx.invoked_subcommand is not None:
        return
    result: list[dict[str, Any]] = AdminClient().call("GET", "/v1/triggers")
    if output == "json":
        emit_json(result)
        return
    rows = []
    for trigger in result:
        state = trigger.get("state") or {}
        rows.append(
            [
                trigger["id"],
                trigger["kind"],
                source_text(trigger),
                target_text(trigger),
                status_text(trigger),
                len(state["partitions"]) if "partitions" in state else "",
                _dash(state.get("lag")) if state else "",
                state.get("processed", ""),
                state.get("retried", ""),
                state.get("dead_lettered", ""),
            ]
        )
    table(
        [
            "id",
            "kind",
            "source",
            "target",
            "status",
            "partitions",
            "lag",
            "processed",
            "retried",
            "dead-lettered",
        ],
        rows,
    )


@triggers.command()
@click.argument("trigger_id", metavar="ID")
@OUTPUT
def show(trigger_id: str, output: str) -> None:
    """One trigger, with a row per assigned partition."""
    trigger: dict[str, Any] = AdminClient().call("GET", f"/v1/triggers/{trigger_id}")
    if output == "json":
        emit_json(trigger)
        return
    state = trigger.get("state") or {}
    click.echo(f"{trigger['id']}  {source_text(trigger)} -> {target_text(trigger)}")
    kind = _kind(trigger)
    if kind is None or kind.subscriber is None:
        return
    shown = {key: state[key] for key in kind.details if key in state}
    click.echo(
        f"status: {status_text(trigger)}  in flight: {state.get('in_flight', 0)}  "
        + "  ".join(f"{key.replace('_', ' ')}: {_dash(value)}" for key, value in shown.items())
    )
    click.echo(
        f"processed: {state.get('processed', 0)}  retried: {state.get('retried', 0)}  "
        f"dead-lettered: {state.get('dead_lettered', 0)}  lag: {_dash(state.get('lag'))}"
    )
    if kind.table is not None:
        headers, rows = kind.table(state)
        if rows:
            click.echo()
            table(headers, rows)


def _kind(trigger: dict[str, Any]) -> TriggerKind | None:
    """The trigger's kind, if this CLI knows it (a newer gateway may have more)."""
    name = trigger["kind"]
    return trigger_kinds.kind(name) if name in trigger_kinds.names() else None


def source_text(trigger: dict[str, Any]) -> str:
    kind = _kind(trigger)
    return kind.source(trigger) if kind is not None else "-"


def target_text(trigger: dict[str, Any]) -> str:
    function = trigger["function"]
    if "revision" in trigger:
        return f"{function}@{trigger['revision']}"
    tag = f" #{trigger['tag']}" if trigger.get("tag") else ""
    return f"{function}:{trigger.get('alias', 'default')}{tag}"


def status_text(trigger: dict[str, Any]) -> str:
    kind = _kind(trigger)
    if kind is not None and kind.subscriber is None:
        return "serving"
    state = trigger.get("state")
    if not state:
        return "not running"
    status = str(state["status"])
    if state.get("stuck"):
        status += f", {state['stuck']} stuck"
    if state.get("error"):
        status += f" ({state['error']})"
    return status


def _dash(value: object) -> object:
    return "-" if value is None else value


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
