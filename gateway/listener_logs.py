"""Which listener a uvicorn log line is about, and each process-wide line once.

The gateway runs two uvicorn servers in one process (the data plane and the admin API).
Each logs its own startup and shutdown, so without a tag their lines are twins nobody
can tell apart, and the lines about the process itself ("Started server process [pid]")
come twice. Each server runs in a task whose context names its listener; the filter
copies that name onto every record logged there and lets a process-wide line through
only the first time.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Coroutine
from typing import Any

LISTENER: contextvars.ContextVar[str | None] = contextvars.ContextVar("gaia_listener", default=None)
# uvicorn's messages about the process rather than one server (their format strings).
_PROCESS_WIDE = frozenset({"Started server process [%d]", "Finished server process [%d]"})


async def as_listener(name: str, serving: Coroutine[Any, Any, None]) -> None:
    """Run one server's `serving` with its log lines tagged `name`."""
    LISTENER.set(name)  # this task's own context: the other server's stays apart
    await serving


class ListenerTag(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg in _PROCESS_WIDE and isinstance(record.msg, str):
            text = record.getMessage()
            if text in self._seen:
                return False
            self._seen.add(text)
            return True
        listener = LISTENER.get()
        if listener is not None:
            record.listener = listener
        return True
