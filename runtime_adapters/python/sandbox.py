"""How a worker process is started: inside bubblewrap where it exists, else plainly.

The sandbox is a fresh root made only of read-only binds of what Python needs: /usr,
/etc, the interpreter's prefix and a tiny library dir holding just `runtime_adapters`,
`msgspec`, `uvloop` and the uvicorn (with httptools and click) that an ASGI app's own
server runs on. The function's code is its instance's slot dir, bound read-only at /code;
/tmp is a private tmpfs; pid namespace of its own; no environment but ours.
Nothing else of the host (GAIA_HOME, /root, /work, other functions' code) exists in it.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import httptools
import msgspec
import uvicorn
import uvloop

import runtime_adapters
from runtime_adapters import bwrap
from runtime_adapters.python.protocol import EXIT_INTERNAL, EXIT_MEMORY

log = logging.getLogger("gaia.runtime.python")

CODE_DIR = "/code"
LIB_DIR = "/gaia/lib"

# The worker's whole environment before a function's own `env` is applied. -I makes the
# interpreter ignore PYTHON* variables; PYTHONDONTWRITEBYTECODE is for the processes a
# function may start itself. MALLOC_ARENA_MAX bounds glibc's per-thread arenas, each of
# which would otherwise reserve 64 MiB of address space against RLIMIT_AS.
BASE_ENV: dict[str, str] = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "MALLOC_ARENA_MAX": "2",
}

# -I: isolated (no user site, no PYTHON* env, no script dir on sys.path); -S: no `site`,
# so no .pth startup hooks from site-packages run; -B: /code is read-only anyway.
_BOOT = (
    "import sys;sys.path.append(sys.argv[3]);"
    "from runtime_adapters.python.worker import main;"
    "main(int(sys.argv[1]),sys.argv[2],int(sys.argv[4]))"
)

_warned_unsandboxed = False


def libraries() -> dict[str, Path]:
    """The only packages a worker imports beyond the standard library."""
    return {
        "runtime_adapters": Path(runtime_adapters.__file__).resolve().parent,
        "msgspec": Path(msgspec.__file__).resolve().parent,
        # The event loop of async handlers and ASGI apps (loop_io.py); a stem cell
        # never imports it.
        "uvloop": Path(uvloop.__file__).resolve().parent,
        # An ASGI app's own HTTP server (http_serve.py): uvicorn's httptools protocol.
        "uvicorn": Path(uvicorn.__file__).resolve().parent,
        "httptools": Path(httptools.__file__).resolve().parent,
        "click": Path(click.__file__).resolve().parent,  # uvicorn imports it
    }


class Sandbox:
    """Builds worker command lines; `enabled=None` means "bwrap if it is on PATH"."""

    def __init__(self, *, enabled: bool | None, lib_dir: Path) -> None:
        bwrap = shutil.which("bwrap")
        if enabled and bwrap is None:
            raise RuntimeError("sandbox=True but bwrap (bubblewrap) is not on PATH")
        if enabled is None:
            enabled = bwrap is not None
            if not enabled:
                _warn_unsandboxed()
        self.enabled = enabled
        self.env = dict(BASE_ENV)
        self._python = sys.executable
        if bwrap is not None and enabled:
            self._prefix = [bwrap, *_fixed_bwrap_args(self.env)]
            self._lib_dir = LIB_DIR
        else:
            self._prefix = []
            self._lib_dir = str(_stage_libraries(lib_dir))

    def command(self, *, slot: Path, fd: int, http_fd: int, network: bool) -> list[str]:
        """argv for one worker whose socket is inherited as `fd`, and the listening
        socket of its own HTTP server as `http_fd` (-1: none)."""
        code_dir = str(slot)
        argv = list(self._prefix)
        if self.enabled:
            argv += ["--ro-bind", code_dir, CODE_DIR, "--chdir", CODE_DIR]
            if not network:
                argv.append("--unshare-net")
            argv.append("--")
            code_dir = CODE_DIR
        argv += [self._python, "-I", "-S", "-B", "-c", _BOOT, str(fd), code_dir, self._lib_dir]
        return [*argv, str(http_fd)]

    def describe_exit(self, returncode: int, memory: str) -> str:
        """Say what ended a worker, from the return code of the process we started."""
        if returncode == EXIT_MEMORY:
            return f"memory limit ({memory}) exceeded"
        if returncode == EXIT_INTERNAL:
            return "worker failed internally (its stderr says why)"
        return bwrap.exit_reason(returncode, sandboxed=self.enabled, subject="worker")


def _fixed_bwrap_args(env: dict[str, str]) -> list[str]:
    # The scratch mounts first, so a Python that lives under /tmp (a CI venv in a
    # clone there) is bound on top of the tmpfs rather than hidden by it.
    args = [*bwrap.isolation(), *bwrap.scratch(), *bwrap.host_system()]
    for prefix in _python_dirs():
        args += ["--ro-bind", prefix, prefix]
    for name, path in libraries().items():
        args += ["--ro-bind", str(path), f"{LIB_DIR}/{name}"]
    return args + bwrap.setenv(env)


def _python_dirs() -> Iterator[str]:
    """The interpreter's prefixes (a venv has two), unless /usr already holds them."""
    seen: list[str] = ["/usr"]
    candidates = [sys.base_prefix, sys.prefix, os.path.dirname(os.path.dirname(sys.executable))]
    for path in candidates:
        if any(path == s or path.startswith(s + "/") for s in seen):
            continue
        seen.append(path)
        yield path


def _stage_libraries(lib_dir: Path) -> Path:
    """Unsandboxed workers get the same import world: a dir of symlinks."""
    lib_dir.mkdir(parents=True, exist_ok=True)
    for name, path in libraries().items():
        link = lib_dir / name
        if link.is_symlink() and link.resolve() == path:
            continue
        tmp = lib_dir / f".{name}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(path, target_is_directory=True)
        tmp.replace(link)  # atomic: a concurrent worker never sees the link missing
    return lib_dir


def _warn_unsandboxed() -> None:
    global _warned_unsandboxed
    if not _warned_unsandboxed:
        _warned_unsandboxed = True
        log.warning(
            "bwrap (bubblewrap) is not on PATH: Python functions run UNSANDBOXED, with "
            "the gateway's view of the filesystem and network; install bubblewrap"
        )
