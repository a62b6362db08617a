"""The command line of one container instance: resource limits (prlimit), then
bubblewrap with the Python workers' isolation (runtime_adapters/bwrap.py) around the
function's root filesystem, then the command.

The root is the host's read-only system directories, or an unpacked image bound
read-only at /. The code directory is bound read-only at /code either way. The
instance shares the gateway's network namespace: that is where it serves $PORT.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from runtime_adapters import bwrap
from runtime_adapters.container.image import Image

CODE_DIR = "/code"
OPEN_FILES = 1024
# What an instance's environment starts from; an image's Env, then the function's
# `env`, then PORT are laid over it.
BASE_ENV: dict[str, str] = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
}


# Mounted fresh in every instance (bwrap.scratch), whatever the image has there.
SCRATCH = frozenset({"/tmp", "/proc", "/dev"})


class SandboxMissing(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class Launch:
    """What one instance runs: its command, root and environment."""

    command: Sequence[str]
    code_dir: Path
    image: Image | None
    env: Mapping[str, str]
    port: int
    memory_bytes: int


def tools() -> tuple[str, str]:
    """The paths of prlimit and bwrap; SandboxMissing names whichever is not installed."""
    found = {name: shutil.which(name) for name in ("prlimit", "bwrap")}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        packages = {"prlimit": "util-linux", "bwrap": "bubblewrap"}
        raise SandboxMissing(
            "the container runtime runs instances in bubblewrap under prlimit: install "
            + ", ".join(f"{name} (Debian package {packages[name]})" for name in missing)
        )
    prlimit, bwrap_path = found["prlimit"], found["bwrap"]
    assert prlimit is not None and bwrap_path is not None
    return prlimit, bwrap_path


def image_root(rootfs: Path) -> list[str]:
    """The image's top-level entries bound read-only one by one, rather than the whole
    tree at /: a read-only / would leave no place to mount /code, /tmp, /proc or /dev
    in an image that lacks those directories."""
    args: list[str] = []
    for entry in sorted(rootfs.iterdir()):
        target = f"/{entry.name}"
        if target in SCRATCH or target == CODE_DIR:
            continue
        if entry.is_symlink():
            args += ["--symlink", str(entry.readlink()), target]
        else:
            args += ["--ro-bind", str(entry), target]
    return args


def command(launch: Launch) -> list[str]:
    prlimit, bwrap_path = tools()
    # RLIMIT_DATA rather than the Python workers' RLIMIT_AS: it counts memory written
    # to, not address space reserved, which runtimes like V8 reserve by the gigabyte.
    memory = launch.memory_bytes
    argv = [prlimit, f"--data={memory}:{memory}", f"--nofile={OPEN_FILES}:{OPEN_FILES}"]
    argv += ["--core=0:0", "--", bwrap_path, *bwrap.isolation()]
    image = launch.image
    env = dict(BASE_ENV)
    if image is None:
        argv += [*bwrap.scratch(), *bwrap.host_system()]
        workdir = CODE_DIR
    else:
        argv += [*bwrap.scratch(), *image_root(image.rootfs)]
        env.update(image.env)
        workdir = image.working_dir
    env.update(launch.env)
    env["PORT"] = str(launch.port)
    argv += ["--ro-bind", str(launch.code_dir), CODE_DIR, "--chdir", workdir]
    argv += [*bwrap.setenv(env), "--", *launch.command]
    return argv
