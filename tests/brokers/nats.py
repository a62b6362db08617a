"""Debian's nats-server with JetStream, on a free port with its store in a temp dir."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.brokers.process import ServerProcess
from tests.integration.harness import free_port


class NatsServer(ServerProcess):
    name = "nats-server"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir / "nats.log")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"nats://127.0.0.1:{self.port}"

    def start(self) -> NatsServer:
        binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
        if not Path(binary).exists():
            raise RuntimeError("nats-server is not installed: apt-get install nats-server")
        store = self.workdir / "jetstream"
        store.mkdir(parents=True, exist_ok=True)
        listen = ["-a", "127.0.0.1", "-p", str(self.port)]
        self.launch(
            [binary, *listen, "-js", "-sd", str(store), "-l", str(self.log_path)],
            ready="Server is ready",
        )
        return self
