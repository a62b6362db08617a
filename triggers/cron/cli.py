"""`gaia cron next` (the cron kind's own CLI command): the next times a schedule runs,
computed here as the gateway will compute them, with no gateway to ask (like
`systemd-analyze calendar --iterations`)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from gateway.cli.render import OUTPUT, emit_json, table
from triggers.cron.schedule import parse_schedule, parse_timezone, upcoming


@click.command("next")
@click.argument("expression", metavar="SCHEDULE")
@click.option("--timezone", default="UTC", show_default=True, help="an IANA time zone name")
@click.option(
    "--after",
    metavar="ISO-8601",
    help="start from this time (without an offset: in --timezone) [default: now]",
)
@click.option("--count", "-n", type=click.IntRange(1, 1000), default=5, show_default=True)
@OUTPUT
def next_runs(expression: str, timezone: str, after: str | None, count: int, output: str) -> None:
    """The next times SCHEDULE runs (`0 9 * * 1-5`, `*/10 * * * * *`, `@every 30s`,
    `@daily`), with their UTC times."""
    try:
        schedule = parse_schedule(expression, timezone=timezone)
    except ValueError as exc:
        param = "--timezone" if str(exc).startswith("unknown time zone") else "SCHEDULE"
        raise click.BadParameter(str(exc), param_hint=param) from None
    start = _start(after, timezone) if after is not None else datetime.now(UTC)
    try:
        ticks = upcoming(schedule, start, count)
    except (OverflowError, ValueError):  # past the year 9999, or before the year 1
        raise click.BadParameter(
            f"{after!r} is too near the ends of the calendar (years 1 to 9999) for {count}"
            " runs after it",
            param_hint="--after",
        ) from None
    if output == "json":
        emit_json([tick.isoformat() for tick in ticks])
        return
    table(
        ["#", "time", "utc"],
        [
            [n, f"{tick.isoformat()} {tick.tzname()}", tick.astimezone(UTC).isoformat()]
            for n, tick in enumerate(ticks, start=1)
        ],
    )


def _start(text: str, timezone: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(
            f"expected an ISO 8601 time like 2026-03-29T01:30:00+01:00 or 2026-03-29T01:30,"
            f" got {text!r}",
            param_hint="--after",
        ) from None
    if moment.tzinfo is None:
        # The zone is valid: parse_schedule checked it first.
        moment = moment.replace(tzinfo=parse_timezone(timezone))
    return moment
