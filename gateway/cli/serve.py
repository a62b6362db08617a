"""`gaia up` and `gaia dev`: the commands that run a gateway in this process."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from configkit.units import parse_duration, parse_size
from gateway.cli.errors import CliError

F = TypeVar("F", bound=Callable[..., Any])


def _server_options(command: F) -> F:
    """The listener and retention flags that `up` and `dev` share."""
    for option in reversed(
        [
            click.option("--host", default=None, help="data plane address [default: 127.0.0.1]"),
            click.option("--port", type=int, default=None, help="data plane port [default: 8080]"),
            click.option(
                "--admin-host", default=None, help="admin API address [default: 127.0.0.1]"
            ),
            click.option(
                "--admin-port", type=int, default=None, help="admin API port [default: 8081]"
            ),
            _parsed_option(
                "--header-timeout",
                "header_timeout_s",
                parse_duration,
                "the whole request head must arrive within this (408 after)"
                " [default: 10s, or GAIA_HEADER_TIMEOUT]",
            ),
            _parsed_option(
                "--max-header-size",
                "max_header_bytes",
                parse_size,
                "request line and headers at most this big (431 over it)"
                " [default: 32Ki, or GAIA_MAX_HEADER_SIZE]",
            ),
            _parsed_option(
                "--keep-alive-timeout",
                "keep_alive_s",
                parse_duration,
                "an idle kept-alive connection is closed after this; keep a proxy's idle"
                " upstream timeout below it [default: 5s, or GAIA_KEEP_ALIVE_TIMEOUT]",
            ),
            click.option(
                "--max-connections",
                type=click.IntRange(min=1),
                default=None,
                help="open data-plane connections; more get 503"
                " [default: 4096, or GAIA_MAX_CONNECTIONS]",
            ),
            _parsed_option(
                "--shutdown-timeout",
                "shutdown_timeout_s",
                parse_duration,
                "after SIGTERM, exit within this: in-flight requests and events get all"
                " but its last 3s [default: 30s, or GAIA_SHUTDOWN_TIMEOUT]",
            ),
            click.option(
                "--keep-revisions",
                type=click.IntRange(min=0),
                default=None,
                help="unreferenced revisions kept per function "
                "[default: 10, or GAIA_KEEP_REVISIONS]",
            ),
            click.option(
                "--reapply",
                is_flag=True,
                default=False,
                help="apply the -f file even if the store applied it at a start before"
                " (which keeps changes made through the API since)",
            ),
        ]
    ):
        command = option(command)
    return command


def _parsed_option(
    flag: str, name: str, parse: Callable[[str], object], help: str
) -> Callable[[F], F]:
    """An option whose text `parse` turns into its value (a duration, a size)."""

    def callback(context: click.Context, parameter: click.Parameter, value: str | None) -> object:
        if value is None:
            return None
        try:
            return parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from None

    return click.option(flag, name, callback=callback, default=None, help=help)


def _run_gateway(config_file: Path | None, *, watch: bool, **flags: Any) -> None:
    from gateway.server import run
    from gateway.settings import settings_from_env

    if config_file is not None and not config_file.is_file():
        raise CliError(f"{config_file}: no such file")
    if flags.get("reapply") and config_file is None:
        raise CliError("--reapply applies the file given with -f: pass -f FILE")
    try:
        settings = settings_from_env(
            config_file=config_file.absolute() if config_file else None, watch=watch, **flags
        )
    except ValueError as exc:
        raise CliError(str(exc)) from None
    sys.exit(run(settings))


@click.command()
@click.option("-f", "--file", "config_file", type=click.Path(path_type=Path), help="apply first")
@_server_options
def up(config_file: Path | None, **flags: Any) -> None:
    """Run one gateway (state in GAIA_HOME, default the nearest .gaia above, else ./.gaia)."""
    _run_gateway(config_file, watch=False, **flags)


@click.command()
@click.option(
    "-f",
    "--file",
    "config_file",
    type=click.Path(path_type=Path),
    help="[default: ./gaia.yaml, else the examples]",
)
@_server_options
def dev(config_file: Path | None, **flags: Any) -> None:
    """`gaia up` plus watching every function's code: each save is a new revision."""
    from gateway.server import find_examples

    if config_file is None:
        config_file = Path("gaia.yaml") if Path("gaia.yaml").is_file() else find_examples()
    if config_file is None:
        raise CliError("no gaia.yaml here: pass -f FILE")
    _run_gateway(config_file, watch=True, **flags)
