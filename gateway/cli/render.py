"""kn-style output: borderless tables with upper-case headers, or JSON with --output json."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence

import click
from rich import box
from rich.console import Console
from rich.table import Table

OUTPUT = click.option(
    "--output", "-o", type=click.Choice(["table", "json"]), default="table", show_default=True
)

_PIPE_WIDTH = 1000


def emit_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=True))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    grid = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for header in headers:
        grid.add_column(header.upper(), overflow="fold")
    for row in rows:
        grid.add_row(*("" if cell is None else str(cell) for cell in row))
    # Piped output is for grep and awk: one row per line, however wide, as kn prints it.
    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console = Console(soft_wrap=True, width=_PIPE_WIDTH)
    console.print(grid)


def age(timestamp: float | None) -> str:
    if not timestamp:
        return ""
    seconds = max(0, int(time.time() - timestamp))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def traffic_text(traffic: Sequence[dict[str, object]]) -> str:
    parts = []
    for entry in traffic:
        revision = entry["revision"]
        resolved = entry.get("resolved_revision")
        if revision == "latest":
            name = f"latest (@{resolved})" if resolved else "latest"
        else:
            name = f"@{revision}"
        tag = f" #{entry['tag']}" if entry.get("tag") else ""
        parts.append(f"{entry['percent']:g}% {name}{tag}")
    return ", ".join(parts)
