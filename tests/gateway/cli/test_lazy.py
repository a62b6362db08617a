"""`gaia`'s subcommands are imported when run: the help listing comes from a table, which
must say what the commands themselves say, and a command must not pay for the others."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from gateway.cli.kinds import KIND_GROUPS
from gateway.cli.main import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_lists_each_command_with_its_own_help_line(name: str) -> None:
    command = COMMANDS[name].load()
    listed = click.Command(name, help=COMMANDS[name].summary)
    assert listed.get_short_help_str(10_000) == command.get_short_help_str(10_000)


def test_gaia_help_lists_what_click_lists_for_the_commands_themselves() -> None:
    # The oracle: click's own listing of a group holding every command, imported.
    eager = click.Group(
        "cli",
        help=cli.help,
        commands={name: entry.load() for name, entry in COMMANDS.items()},
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    eager = click.version_option("0.1.0", prog_name="gaia")(eager)
    for group in KIND_GROUPS:
        eager.add_command(group)
    lazy = CliRunner().invoke(cli, ["--help"], prog_name="gaia")
    expected = CliRunner().invoke(eager, ["--help"], prog_name="gaia")
    assert lazy.exit_code == 0, lazy.output
    assert lazy.output == expected.output
    assert "  cron " in lazy.output  # a trigger kind's own group is listed too


def test_an_unknown_command_is_named_in_the_error() -> None:
    result = CliRunner().invoke(cli, ["stauts"], prog_name="gaia")
    assert result.exit_code == 2
    assert "No such command 'stauts'" in result.output


def _imported(argv: list[str], modules: tuple[str, ...]) -> set[str]:
    """Which of `modules` running `gaia ARGV` imported (it may fail: no gateway runs)."""
    probe = (
        "import sys\n"
        f"sys.argv = ['gaia', *{argv!r}]\n"
        "from gateway.cli.main import main\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        f"print('imported:' + ','.join(m for m in {modules!r} if m in sys.modules))"
    )
    env = {"GAIA_ADMIN_URL": "http://127.0.0.1:9", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60
    ).stdout
    line = out.rsplit("imported:", 1)[1].strip()
    return set(line.split(",")) - {""}


HEAVY = ("httpx", "pydantic", "k8s.cluster", "triggers.registry", "yaml")


def test_gaia_up_help_imports_none_of_the_other_commands() -> None:
    assert _imported(["up", "--help"], HEAVY) == set()


def test_gaia_status_imports_the_admin_client_and_nothing_else_heavy() -> None:
    assert _imported(["status"], HEAVY) == {"httpx"}


def test_gaia_help_does_not_import_the_admin_client() -> None:
    loaded = _imported(["--help"], HEAVY)
    assert "httpx" not in loaded
    assert "k8s.cluster" not in loaded
