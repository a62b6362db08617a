"""The function container's log capture, run by a real busybox (Debian's busybox-static,
as the pod runs the busybox image's): the function's output lands in the file the log
sidecar tails, the file is emptied past its size, and the function keeps the shell's
PID (so it gets the pod's SIGTERM itself)."""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from k8s import capture
from tests.integration.harness import wait_for
from tests.runtime_adapters.container.conftest import require

PROGRAM = """
import os, sys, time
print("pid", os.getpid(), flush=True)
print("to stderr", file=sys.stderr, flush=True)
for n in range(int(sys.argv[1])):
    print("x" * 99, flush=True)
    time.sleep(float(sys.argv[2]))
time.sleep(60)
"""


def _start(
    tmp_path: Path, lines: int, pause_s: float, *, truncate_at: int
) -> tuple[subprocess.Popen[bytes], Path]:
    require("busybox")
    busybox = shutil.which("busybox") or "/bin/busybox"
    log = tmp_path / "function.log"
    text = capture.script(busybox=busybox, log_file=str(log), truncate_at=truncate_at, every_s=1)
    process = subprocess.Popen(
        [busybox, "sh", "-c", text, sys.executable, "-c", PROGRAM, str(lines), str(pause_s)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Its own group: the size check outlives the function here, where no container's
        # end takes it along (see _stop).
        start_new_session=True,
    )
    return process, log


def _stop(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(10)


def test_output_goes_to_the_file_and_the_function_keeps_the_pid(tmp_path: Path) -> None:
    process, log = _start(tmp_path, 3, 0, truncate_at=10**9)
    try:
        wait_for(lambda: log.exists() and log.read_text().count("x" * 99) == 3, what="3 lines")
        text = log.read_text()
        assert f"pid {process.pid}\n" in text  # exec: the function is the container's PID 1
        assert "to stderr\n" in text
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == -signal.SIGTERM  # the function itself got it
        assert process.stdout is not None and process.stdout.read() == b""
    finally:
        _stop(process)


def test_the_file_is_emptied_past_its_size_and_writing_goes_on(tmp_path: Path) -> None:
    # 100-byte lines, 20 a second: past 1000 bytes within a second, emptied each check.
    process, log = _start(tmp_path, 400, 0.05, truncate_at=1000)
    try:
        sizes: list[int] = []

        def emptied_and_growing() -> bool:
            sizes.append(log.stat().st_size if log.exists() else 0)
            shrank = any(b < a for a, b in itertools.pairwise(sizes))
            return shrank and sizes[-1] > 0 and len(sizes) > 2

        wait_for(emptied_and_growing, timeout=15, what="the file emptied, then written again")
        # Never far past the limit: one check's worth of lines at most.
        assert max(sizes) < 1000 + 2 * 20 * 100, sizes
        assert log.read_text().endswith("x" * 99 + "\n")
    finally:
        _stop(process)
