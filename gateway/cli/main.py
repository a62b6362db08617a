"""The `gaia` command. Everything but `up` and `dev` talks to the admin API.

Its subcommands are imported when run (gateway/cli/lazy.py): the table below names
each one's module and the help line `gaia --help` shows for it.
"""

from __future__ import annotations

import json
import sys

import click

from gateway.cli.errors import CliError
from gateway.cli.lazy import Lazy, LazyGroup

COMMANDS = {
    "alias": Lazy(path="gateway.cli.releases:alias", summary="Show or set an alias's traffic."),
    "apply": Lazy(
        path="gateway.cli.releases:apply", summary="Apply a gaia.yaml: all of it or nothing."
    ),
    "delete": Lazy(
        path="gateway.cli.functions:delete",
        summary="Delete a function with its revisions, aliases, history and triggers.",
    ),
    "deploy": Lazy(
        path="gateway.cli.releases:deploy",
        summary="Publish a directory as the function's next revision; `--route` gives it a URL.",
    ),
    "describe": Lazy(
        path="gateway.cli.functions:describe",
        summary="One function in one view: revisions, aliases with their traffic, triggers,"
        " URLs, and the endpoints of its warm revisions where its runtime has them.",
    ),
    "dev": Lazy(
        path="gateway.cli.serve:dev",
        summary="`gaia up` plus watching every function's code: each save is a new revision.",
    ),
    "functions": Lazy(
        path="gateway.cli.functions:list_functions",
        summary="Every function: its latest revision, aliases and triggers.",
    ),
    "init": Lazy(
        path="gateway.cli.init:init",
        summary="Write a starter function, FUNCTION/main.py, and a gaia.yaml serving it, here.",
    ),
    "invoke": Lazy(
        path="gateway.cli.invoke:invoke",
        summary="Invoke a function: its answer on stdout; revision, status and time on stderr.",
    ),
    "k8s": Lazy(
        path="gateway.cli.k8s:k8s",
        summary="Kubernetes manifests for revisions and for the gateway in front of them.",
    ),
    "list": Lazy(
        path="gateway.cli.functions:list_functions",
        summary="Every function: its latest revision, aliases and triggers.",
    ),
    "logs": Lazy(
        path="gateway.cli.logs:logs",
        summary="A function's log lines: its requests, what it printed and logged, its failures.",
    ),
    "migrate": Lazy(
        path="gateway.cli.migrate:migrate",
        summary="The migration ledger: take the old API's routes over one at a time, on evidence.",
    ),
    "revisions": Lazy(
        path="gateway.cli.releases:revisions", summary="List a function's revisions."
    ),
    "rollback": Lazy(
        path="gateway.cli.releases:rollback",
        summary="Restore an alias's traffic from before its last change.",
    ),
    "status": Lazy(
        path="gateway.cli.status:status", summary="Functions, their aliases and the warm pools."
    ),
    "triggers": Lazy(
        path="gateway.cli.triggers:triggers",
        summary="List triggers: what fires them, their target, and for queue triggers their"
        " partitions, lag and counts. `gaia triggers show ID` details one.",
    ),
    "up": Lazy(
        path="gateway.cli.serve:up",
        summary="Run one gateway (state in GAIA_HOME, default the nearest .gaia above,"
        " else ./.gaia).",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    # `gaia KIND ...` for each trigger kind with commands of its own (cron's history).
    extra="gateway.cli.kinds:KIND_GROUPS",
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option("0.1.0", prog_name="gaia")
def cli() -> None:
    """gaia: an event-driven trigger gateway for functions."""


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except CliError as exc:
        click.echo(f"gaia: {exc}", err=True)
        sys.exit(1)
    except json.JSONDecodeError as exc:
        click.echo(f"gaia: the admin API answered something that is not JSON: {exc}", err=True)
        sys.exit(1)
