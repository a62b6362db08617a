"""`gaia deploy`'s stages as they happen, as `docker build` and `faas-cli` show theirs.

On a terminal a spinner says what is under way and each finished stage becomes a line;
piped, the same lines are printed plain, each as soon as its stage ends, so a log shows
where a slow deploy spent its time. The gateway's own stages (dependencies, store, warm,
ready) come from its publish as each ends, on a line of their own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

from rich.console import Console

# The longest stage name, `dependencies`: every time lines up under the others.
_WIDTH = 12


def stage_line(stage: str, ms: float) -> str:
    return f"{stage:<{_WIDTH}} {ms:8.1f} ms"


class DeployProgress:
    def __init__(self, *, quiet: bool = False) -> None:
        self._console = Console(highlight=False)
        self._live = self._console.is_terminal and not quiet
        self._quiet = quiet
        self.laps: dict[str, float] = {}

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time one stage run here; its line prints when it ends."""
        started = time.perf_counter()
        with self._spinner(f"{name}…"):
            yield
        self.laps[name] = round((time.perf_counter() - started) * 1000, 3)
        self._print(stage_line(name, self.laps[name]))

    @contextlib.contextmanager
    def waiting(self, what: str) -> Iterator[None]:
        """A spinner while the gateway works; `done` prints its stages as they end."""
        with self._spinner(what):
            yield

    def done(self, name: str, ms: float) -> None:
        """A stage timed elsewhere (the gateway's) has ended: its line, once."""
        if name not in self.laps:
            self.laps[name] = ms
            self._print(stage_line(name, ms))

    def _spinner(self, text: str) -> contextlib.AbstractContextManager[object]:
        if not self._live:
            return contextlib.nullcontext()
        return self._console.status(text)

    def _print(self, line: str) -> None:
        if self._quiet:
            return
        if self._live:
            self._console.print(f"[green]✓[/green] {line}")
        else:
            print(line, flush=True)
