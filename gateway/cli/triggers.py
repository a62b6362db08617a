"""`gaia triggers`: every trigger and the live state of event sources; `gaia cron history`."""

from __future__ import annotations

import time
from typing import Any

import click

from gateway.cli.client import AdminClient
from gateway.cli.render import OUTPUT, emit_json, table


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
    if trigger["kind"] == "http":
        return
    details = {
        "kafka": ("group", "ordering"),
        "nats": ("queue", "durable", "pending", "ack_pending", "redelivered", "lost"),
        "cron": ("next", "lease", "replica", "skipped", "missed", "failed", "run_elsewhere"),
    }.get(trigger["kind"], ())
    shown = {key: state[key] for key in details if key in state}
    click.echo(
        f"status: {status_text(trigger)}  in flight: {state.get('in_flight', 0)}  "
        + "  ".join(f"{key.replace('_', ' ')}: {_dash(value)}" for key, value in shown.items())
    )
    click.echo(
        f"processed: {state.get('processed', 0)}  retried: {state.get('retried', 0)}  "
        f"dead-lettered: {state.get('dead_lettered', 0)}  lag: {_dash(state.get('lag'))}"
    )
    rows = [
        [
            p["topic"],
            p["partition"],
            _dash(p["committed"]),
            _dash(p["highwater"]),
            _dash(p["lag"]),
            p["in_flight"],
            f"at {p['stuck']['offset']}: {p['stuck']['error']}" if p["stuck"] else "",
        ]
        for p in state.get("partitions", [])
    ]
    if rows:
        click.echo()
        table(["topic", "partition", "committed", "highwater", "lag", "in flight", "stuck"], rows)


def source_text(trigger: dict[str, Any]) -> str:
    if trigger["kind"] == "http":
        methods = ",".join(trigger.get("methods") or ["*"])
        return f"{methods} {trigger.get('host') or ''}{trigger['path']}"
    if trigger["kind"] == "kafka":
        return ",".join(trigger["topics"])
    if trigger["kind"] == "cron":
        return f"{trigger['schedule']} ({trigger['timezone']})"
    if trigger["kind"] == "nats":
        stream = trigger.get("jetstream")
        return f"{trigger['subject']} (stream {stream['stream']})" if stream else trigger["subject"]
    return "-"


def target_text(trigger: dict[str, Any]) -> str:
    function = trigger["function"]
    if "revision" in trigger:
        return f"{function}@{trigger['revision']}"
    tag = f" #{trigger['tag']}" if trigger.get("tag") else ""
    return f"{function}:{trigger.get('alias', 'default')}{tag}"


def status_text(trigger: dict[str, Any]) -> str:
    if trigger["kind"] == "http":
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


@click.group()
def cron() -> None:
    """Cron triggers."""


@cron.command()
@click.argument("trigger_id", metavar="TRIGGER")
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=20, show_default=True)
@OUTPUT
def history(trigger_id: str, limit: int, output: str) -> None:
    """A cron trigger's runs, newest first: scheduled time, start delay, duration,
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


def _clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + f".{int(epoch % 1 * 1000):03d}Z"


def _ms(later: float | None, earlier: float | None) -> str:
    if later is None or earlier is None:
        return "-"
    return f"{(later - earlier) * 1000:.1f} ms"
