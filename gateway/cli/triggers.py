"""`gaia triggers`: every trigger and the live state of event sources. What each kind
shows comes from the registry."""

from __future__ import annotations

from typing import Any

import click

from gateway.cli.client import AdminClient
from gateway.cli.render import OUTPUT, emit_json, table
from triggers import registry as trigger_kinds
from triggers.kind import TriggerKind
from triggers.state import TriggerState


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
        row: list[object] = [
            trigger["id"],
            trigger["kind"],
            source_text(trigger),
            target_text(trigger),
            status_text(trigger),
        ]
        state = _state(trigger)
        if state is None:
            row += ["", "", "", "", ""]
        else:
            hidden = state.hidden()
            row += [
                _blank(state.partition_count()),
                _dash(state.lag),
                state.processed,
                "" if "retried" in hidden else state.retried,
                "" if "dead_lettered" in hidden else state.dead_lettered,
            ]
        rows.append(row)
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
    click.echo(f"{trigger['id']}  {source_text(trigger)} -> {target_text(trigger)}")
    kind = _kind(trigger)
    if kind is None or kind.subscriber is None:
        return
    state = _state(trigger) or TriggerState(status="not running")
    reported = set(state.to_dict())  # a trigger not running reports only the common fields
    shown = {key: getattr(state, key) for key in kind.details if key in reported}
    click.echo(
        f"status: {status_text(trigger)}  in flight: {state.in_flight}  "
        + "  ".join(f"{key.replace('_', ' ')}: {_dash(value)}" for key, value in shown.items())
    )
    click.echo(
        f"processed: {state.processed}  retried: {state.retried}  "
        f"dead-lettered: {state.dead_lettered}  lag: {_dash(state.lag)}"
    )
    if kind.table is not None and isinstance(state, kind.state):
        headers, rows = kind.table(state)
        if rows:
            click.echo()
            table(headers, rows)


def _kind(trigger: dict[str, Any]) -> TriggerKind | None:
    """The trigger's kind, if this CLI knows it (a newer gateway may have more)."""
    name = trigger["kind"]
    return trigger_kinds.kind(name) if name in trigger_kinds.names() else None


def _state(trigger: dict[str, Any]) -> TriggerState | None:
    """The live state the admin API sent, typed as the kind's state."""
    kind, raw = _kind(trigger), trigger.get("state")
    if kind is None or not raw:
        return None
    return kind.state.from_dict(raw)


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
    state = _state(trigger)
    if state is None:
        return "not running"
    status = state.status
    if state.stuck:
        status += f", {state.stuck} stuck"
    if state.error:
        status += f" ({state.error})"
    return status


def _dash(value: object) -> object:
    return "-" if value is None else value


def _blank(value: object) -> object:
    return "" if value is None else value
