"""A click group whose subcommands are imported when one is run, not when `gaia` starts.

Every `gaia` command paid for the imports of all the others before doing anything: the
admin client (httpx), the trigger kinds' config models (pydantic), the Kubernetes
builders, about a second of CPU in all. Here each subcommand is named by where it lives
and by its one-line help, so `gaia status` imports the status command's module alone,
and `gaia --help` lists the table without importing the commands in it.

Groups that are only known once their registry is loaded (a trigger kind's `gaia cron`)
come from `extra`, which is imported for the listing and for a name not in the table.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import click


@dataclass(frozen=True, kw_only=True, slots=True)
class Lazy:
    """A subcommand by its import path ("package.module:attribute") and its one-line help
    as `gaia --help` lists it (tests check it against the command's own)."""

    path: str
    summary: str

    def load(self) -> click.Command:
        command = _attribute(self.path)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.path} is {type(command).__name__}, not a click command")
        return command


def _attribute(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


class LazyGroup(click.Group):
    def __init__(
        self, *args: Any, lazy: Mapping[str, Lazy], extra: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = dict(lazy)
        # "module:attribute" of a sequence of further commands, by their own names.
        self.extra = extra

    def _extra(self) -> dict[str, click.Command]:
        if self.extra is None:
            return {}
        commands: Sequence[click.Command] = _attribute(self.extra)
        return {command.name: command for command in commands if command.name}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy, *self._extra()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        entry = self.lazy.get(cmd_name)
        if entry is not None:
            return entry.load()
        return self._extra().get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """click's listing, with the table's help for the commands not imported yet."""
        extra = self._extra()
        listed = []
        for name in self.list_commands(ctx):
            # A stand-in carrying the table's help line for a command not imported yet.
            command = self.commands.get(name) or extra.get(name)
            if command is None:
                command = click.Command(name, help=self.lazy[name].summary)
            if not command.hidden:
                listed.append((name, command))
        if not listed:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in listed)
        rows = [(name, command.get_short_help_str(limit)) for name, command in listed]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
