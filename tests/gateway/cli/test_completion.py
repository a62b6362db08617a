"""Shell completion as the README documents it: click's, through the installed `gaia`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

GAIA = Path(sys.prefix, "bin", "gaia")


def _complete(shell: str, **extra: str) -> str:
    assert GAIA.is_file(), "run the tests from the venv `pip install -e .` made"
    env = {**os.environ, "_GAIA_COMPLETE": shell, **extra}
    result = subprocess.run([str(GAIA)], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_line_defines_bash_completion_for_gaia() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    assert 'eval "$(_GAIA_COMPLETE=bash_source gaia)"' in readme
    script = _complete("bash_source")
    assert "complete -o nosort -F _gaia_completion gaia" in script
    assert shutil.which("bash")
    defined = subprocess.run(
        ["bash", "-c", f"{script}\ncomplete -p gaia"], capture_output=True, text=True
    )
    assert defined.returncode == 0 and "_gaia_completion" in defined.stdout
    assert "compdef _gaia_completion gaia" in _complete("zsh_source")
    assert "complete --no-files --command gaia" in _complete("fish_source")


def test_commands_and_subcommands_complete() -> None:
    words = _complete("bash_complete", COMP_WORDS="gaia de", COMP_CWORD="1").split()
    assert words == ["plain,delete", "plain,deploy", "plain,describe", "plain,dev"]
    words = _complete("bash_complete", COMP_WORDS="gaia alias ", COMP_CWORD="2").split()
    assert "plain,delete" in words and "plain,set" in words
    words = _complete("bash_complete", COMP_WORDS="gaia init --template ", COMP_CWORD="3").split()
    assert words == ["plain,cron", "plain,http"]
