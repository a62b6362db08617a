"""Where a process's CPU goes: py-spy's samples of it, counted by the source files on
their stacks.

py-spy (`pip install py-spy`) reads a running Python process from outside, without
pausing it (`--nonblocking`), and keeps only samples of threads that were running, so
the share of samples with a file on the stack is the share of the process's CPU spent
in that file's code or below it: a figure that a busy shared machine moves far less
than requests/s.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import BenchError

RATE_HZ = 250


def executable() -> str:
    """py-spy from PATH or next to this interpreter (a venv's bin)."""
    found = shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))
    if found is None:
        raise BenchError("py-spy is not installed (pip install py-spy)")
    return found


def record(pid: int, duration_s: int, out: Path) -> subprocess.Popen[bytes]:
    """Start sampling `pid` for `duration_s` into `out` (py-spy's raw format: one line
    per distinct stack, `frame;frame;... COUNT`)."""
    argv = [executable(), "record", "--pid", str(pid), "--duration", str(duration_s)]
    argv += ["--rate", str(RATE_HZ), "--nonblocking", "--format", "raw", "-o", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def finish(recorder: subprocess.Popen[bytes]) -> None:
    _, stderr = recorder.communicate(timeout=60)
    if recorder.returncode != 0:
        raise BenchError(f"py-spy failed: {stderr.decode(errors='replace').strip()}")


@dataclass
class Samples:
    """Samples in all, and those with each of some source paths on the stack."""

    total: int = 0
    within: Counter[str] = field(default_factory=Counter)

    def add(self, raw: str, paths: Sequence[str]) -> None:
        for line in raw.splitlines():
            stack, _, count = line.rpartition(" ")
            if not count.isdigit():
                continue
            self.total += int(count)
            for path in paths:
                if path in stack:
                    self.within[path] += int(count)

    def share(self, path: str) -> float:
        return self.within[path] / self.total if self.total else 0.0
