"""Debian's redis-server on a free port, without persistence."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.brokers.process import ServerProcess
from tests.integration.harness import free_port


class RedisServer(ServerProcess):
    name = "redis-server"

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir / "redis.log")
        self.workdir = workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        listen = ["--port", str(self.port), "--bind", "127.0.0.1"]
        memory_only = ["--save", "", "--appendonly", "no", "--dir", str(self.workdir)]
        self.launch(
            [binary, *listen, *memory_only, "--logfile", str(self.log_path)],
            ready="Ready to accept connections",
        )
        return self
