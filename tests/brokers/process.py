"""A server process the tests start: launched, awaited by a line in its log, stopped."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path


class ServerProcess:
    name = "server"

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def launch(
        self,
        argv: list[str],
        *,
        ready: str,
        timeout: float = 20.0,
        stdout_to_log: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        """Start `argv` and wait for `ready` in the log; a server that exits or stays
        silent raises with its log, so a test run never goes on without it."""
        output = self.log_path.open("wb") if stdout_to_log else subprocess.DEVNULL
        try:
            self.process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, env=env)
        finally:
            if stdout_to_log:
                output.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.process.returncode}: {self.log()}"
                )
            if ready in self.log():
                return
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"{self.name} did not become ready within {timeout}s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
