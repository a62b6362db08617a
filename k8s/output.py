"""Writing a run's files: all of them or none.

The files are written to a new directory beside the target and fsynced, then put in
its place by one rename: onto a target that does not exist or is empty, or swapped with
one a previous run wrote (renameat2's RENAME_EXCHANGE) before that is removed. A target
holding anything else is refused, so no file of the user's is ever replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from k8s.errors import RenderError

# Marks a directory as written by `gaia k8s render`, so a later run may replace it.
MARKER = ".gaia-k8s-render"
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def write_directory(target: Path, files: Mapping[str, str]) -> None:
    target = target.absolute()
    previous = _previous_run(target)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    except OSError as exc:
        raise RenderError(f"cannot write {target}: {exc.strerror}") from None
    try:
        for name, text in {**files, MARKER: "written by gaia k8s render\n"}.items():
            path = staging / name
            with path.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            path.chmod(0o644)
        staging.chmod(0o755)
        if previous:
            _exchange(staging, target)
        else:
            os.rename(staging, target)
        _fsync_dir(target.parent)
    except OSError as exc:
        raise RenderError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        # After an exchange this holds the previous run's files; after a failure, ours.
        shutil.rmtree(staging, ignore_errors=True)


def check_target(target: Path) -> None:
    """Refuse a target the write would refuse, before anything is asked of a gateway."""
    _previous_run(target.absolute())
    if not target.absolute().parent.is_dir():
        raise RenderError(f"cannot write {target}: {target.parent} is not a directory")


def _previous_run(target: Path) -> bool:
    """Whether `target` holds a previous run's files (False: it is absent or empty)."""
    if not target.exists():
        return False
    if not target.is_dir():
        raise RenderError(f"cannot write {target}: it is a file, not a directory")
    entries = os.listdir(target)
    if not entries:
        return False
    if MARKER not in entries:
        raise RenderError(
            f"cannot write {target}: it holds files gaia k8s render did not write"
            f" ({', '.join(sorted(entries)[:3])}...): choose a new or empty directory"
        )
    return True


def _exchange(new: Path, old: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    done = libc.renameat2(
        _AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(old), _RENAME_EXCHANGE
    )
    if done != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code) or errno.errorcode.get(code, str(code)))


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
