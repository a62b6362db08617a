"""Where a gaia project keeps its state (GAIA_HOME), found as git finds `.git`.

`GAIA_HOME` wins when set. Otherwise the nearest `.gaia` directory in the working
directory or one of its parents is the home, so `gaia status` works from anywhere inside
a project whose gateway was started at its top; with none, `./.gaia` (which `gaia up`
creates).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

HOME_DIR = ".gaia"
# The admin bearer token, in the home; the gateway writes it and the CLI reads it.
TOKEN_FILE = "admin-token"


def discover_home(start: Path) -> Path | None:
    """The nearest `.gaia` directory at `start` or above it, if there is one."""
    start = start.absolute()
    for directory in (start, *start.parents):
        candidate = directory / HOME_DIR
        if candidate.is_dir():
            return candidate
    return None


def home_from_env(environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> Path:
    env = os.environ if environ is None else environ
    if env.get("GAIA_HOME"):
        return Path(env["GAIA_HOME"]).absolute()
    here = Path.cwd() if cwd is None else cwd
    return discover_home(here) or (here / HOME_DIR).absolute()


def how_found(environ: Mapping[str, str] | None = None, *, cwd: Path | None = None) -> str:
    """Why this home: for messages that must say where gaia looked."""
    env = os.environ if environ is None else environ
    if env.get("GAIA_HOME"):
        return "GAIA_HOME"
    here = Path.cwd() if cwd is None else cwd
    if discover_home(here) is not None:
        return f"the nearest {HOME_DIR} directory above {here.absolute()}"
    return f"no {HOME_DIR} directory in {here.absolute()} or above it"
