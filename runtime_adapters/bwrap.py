"""bubblewrap argument building every runtime's sandbox shares.

An instance gets a fresh root made of read-only binds: a pid namespace of its own,
a private /tmp, no environment but what the runtime sets, and (for `host_system`) only
the host's system directories, with root's secrets in /etc masked.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path

ETC_SECRETS = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/ssl/private",
)


def isolation() -> list[str]:
    """Namespaces and session: the process tree dies with its parent and cannot reach
    the gateway's terminal."""
    return ["--unshare-pid", "--die-with-parent", "--new-session", "--clearenv"]


def scratch() -> list[str]:
    """A private /tmp, /proc and /dev. Mounts apply in order: put these before binds
    that may live under /tmp (a CI venv) and after a bind of a whole root."""
    return ["--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev"]


def host_system() -> list[str]:
    """The host's /usr, /etc and the top-level links or dirs into them, read-only."""
    args = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    # The instance is uid 0 (without capabilities): as the owner it could still read
    # root's secrets in /etc, so those are masked.
    for secret in ETC_SECRETS:
        if os.path.isdir(secret):
            args += ["--tmpfs", secret]
        elif os.path.exists(secret):
            args += ["--ro-bind", "/dev/null", secret]
    for name in ("bin", "lib", "lib64", "sbin"):
        path = Path("/", name)
        if path.is_symlink():  # usrmerge: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    return args


def setenv(env: Mapping[str, str]) -> list[str]:
    args: list[str] = []
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def exit_reason(returncode: int, *, sandboxed: bool, subject: str) -> str:
    """What ended a process, from the return code of the process we started (bwrap
    when `sandboxed`): `worker exited with code 3`, `instance killed by SIGKILL`."""
    if returncode < 0:
        signum = -returncode
    elif sandboxed and 128 < returncode < 128 + signal.NSIG:
        signum = returncode - 128  # bwrap reports its child's death by signal N as 128+N
    else:
        return f"{subject} exited with code {returncode}"
    try:
        name = signal.Signals(signum).name
    except ValueError:
        name = f"signal {signum}"
    return f"{subject} killed by {name}"
