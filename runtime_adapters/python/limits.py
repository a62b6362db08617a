"""Resource limits a worker applies to itself (it runs before any function code).

Applying them in the worker rather than in a preexec hook keeps process spawning on
the fast path of the event loop (no Python code between fork and exec) and lets a stem
cell, which does not yet know its revision, take the revision's memory limit on load.
"""

from __future__ import annotations

import resource

OPEN_FILES = 1024
# Root ignores RLIMIT_NPROC (the kernel exempts uid 0); it still binds other users.
PROCESSES = 256


def apply_static() -> None:
    """The limits every worker has, whatever it runs."""
    _lower(resource.RLIMIT_CORE, 0)
    _lower(resource.RLIMIT_NOFILE, OPEN_FILES)
    _lower(resource.RLIMIT_NPROC, PROCESSES)


def limit_memory(memory_bytes: int) -> None:
    """Give the function `memory_bytes` of address space on top of the runtime's own.

    RLIMIT_AS counts reservations, not use: the interpreter, thread stacks and malloc
    arenas already mapped would otherwise eat the function's budget (8 threads can
    reserve 100 MB before touching any of it). So the limit is what is mapped now,
    with the worker's threads already started, plus the function's memory.
    """
    _lower(resource.RLIMIT_AS, mapped_bytes() + memory_bytes)


def mapped_bytes() -> int:
    with open("/proc/self/status", "rb") as status:
        for line in status:
            if line.startswith(b"VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmSize missing from /proc/self/status")


def _lower(limit: int, value: int) -> None:
    _soft, hard = resource.getrlimit(limit)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    # soft == hard: the function cannot raise it back.
    resource.setrlimit(limit, (value, value))
