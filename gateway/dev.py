"""`gaia dev`: every save publishes and warms a revision; aliases on `latest` follow it.

One line per change says which revision now serves and how long it took from the save
(the newest changed file's mtime) to serving. A save that does not import publishes
nothing: the error is printed with the function's own file and line, and traffic stays
where it was; the save that fixes it says that the function serves again, even when its
code is a revision's that already exists (and so publishes nothing new).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, awatch

from gateway.config import ConfigError, GaiaFile, load_file
from gateway.control import ControlPlane
from gateway.errors import GaiaError

# Inside the sandbox a function's code is at /code; the developer knows it by its path.
SANDBOX_CODE_DIR = "/code/"


def _saved_at(paths: set[str]) -> float:
    times = []
    for path in paths:
        try:
            times.append(Path(path).stat().st_mtime)
        except OSError:
            continue  # deleted: the change itself is the news
    return max(times, default=time.time())


class DevLoop:
    def __init__(
        self, *, control: ControlPlane, config_file: Path, echo: Callable[[str], None]
    ) -> None:
        self._control = control
        self._config_file = config_file.resolve()
        self._echo = echo
        self._file: GaiaFile = load_file(self._config_file)
        # Functions whose last save failed: the next good one says that they serve again.
        self._failed: set[str] = set()

    def _owner(self, path: str) -> str | None:
        resolved = Path(path).resolve()
        for name, function in self._file.functions.items():
            if function.code is not None and resolved.is_relative_to(function.code):
                return name
        return None

    def _relevant(self, change: Change, path: str) -> bool:
        # GAIA_HOME often sits beside gaia.yaml: its own writes must not wake the loop.
        if "__pycache__" in path:
            return False
        return Path(path).resolve() == self._config_file or self._owner(path) is not None

    def _classify(self, paths: set[str]) -> tuple[bool, list[str], float]:
        """Did gaia.yaml change, which functions' code did, and when was the save."""
        config_changed = any(Path(p).resolve() == self._config_file for p in paths)
        functions = sorted({owner for p in paths if (owner := self._owner(p))})
        return config_changed, functions, _saved_at(paths)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            codes = {f.code for f in self._file.functions.values() if f.code is not None}
            watched = {self._config_file.parent, *codes}
            self._echo(f"watching {len(self._file.functions)} function(s) for changes")
            async for changes in awatch(
                *watched, stop_event=stop, debounce=50, step=10, watch_filter=self._relevant
            ):
                config_changed, functions, saved_at = self._classify({p for _, p in changes})
                if config_changed:
                    await self._reapply(saved_at)
                    break  # the file may name other code directories: watch those
                for name in functions:
                    await self._publish(name, saved_at)

    async def _publish(self, name: str, saved_at: float) -> None:
        function = self._file.functions[name]
        try:
            plan = await self._control.publish(name, code_dir=function.code, config=function)
        except GaiaError as exc:
            message = exc.message.replace(SANDBOX_CODE_DIR, f"{function.code}/")
            self._echo(f"{name}: the save was not published, traffic unchanged:\n{message}")
            self._failed.add(name)
            return
        elapsed = (time.time() - saved_at) * 1000
        fixed = name in self._failed
        self._failed.discard(name)
        label = f"{name}@{plan.revision} {plan.digest[:12]}"
        if plan.created_revision:
            self._echo(f"{label} serving {elapsed:.0f} ms after save")
        elif fixed:
            # The fix brought back code a revision already has: nothing new is published,
            # but the developer, who saw the failure, must see that it is over.
            latest = max(r.number for r in self._control.revisions(name))
            if latest == plan.revision:
                self._echo(f"{label} serving again {elapsed:.0f} ms after save: the save is fixed")
            else:
                self._echo(
                    f"{name}: the save is fixed, and is the code of {name}@{plan.revision};"
                    f" {name}@{latest} still serves"
                )

    async def _reapply(self, saved_at: float) -> None:
        try:
            self._file = load_file(self._config_file, check_code=True)
            plans = await self._control.apply(self._file)
        except ConfigError as exc:
            self._echo(f"{self._config_file.name} not applied:\n{exc}")
            return
        except GaiaError as exc:
            self._echo(f"{self._config_file.name} not applied: {exc.message}")
            return
        elapsed = (time.time() - saved_at) * 1000
        serving = ", ".join(f"{p.function}@{p.revision}" for p in plans)
        self._echo(f"{self._config_file.name} applied ({serving}) {elapsed:.0f} ms after save")
