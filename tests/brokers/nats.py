"""Debian's nats-server with JetStream, on a free port with its store in a temp dir.

A server that cannot start fails the test run: NATS tests never skip.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

from tests.integration.harness import free_port


class NatsServer:
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.log_path = workdir / "nats.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 20.0) -> NatsServer:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(binary).exists():
            raise RuntimeError("nats-server is not installed: apt-get install nats-server")
        store = self.workdir / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        listen = ["-a", "127.0.0.1", "-p", str(self.port)]
        self.process = subprocess.Popen(
            [binary, *listen, "-js", "-sd", str(store), "-l", str(self.log_path)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nats-server exited with {self.process.returncode}: {self.log()}"
                )
            if "Server is ready" in self.log():
                return self
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"nats-server did not become ready within {timeout}s: {self.log()}")

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
