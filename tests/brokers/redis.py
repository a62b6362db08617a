"""Debian's redis-server on a free port, without persistence."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.brokers.process import ServerProcess
from tests.integration.harness import free_port


class RedisServer(ServerProcess):
    """`persistent`: an append-only file in `workdir`, so that a restart (stop, then
    start again on the same port) keeps the data, as a production Redis would."""

    name = "redis-server"

    def __init__(self, workdir: Path, *, persistent: bool = False) -> None:
        super().__init__(workdir / "redis.log")
        self.workdir = workdir
        self.persistent = persistent
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: apt-get install redis-server")
        listen = ["--port", str(self.port), "--bind", "127.0.0.1"]
        appendonly = ["--appendonly", "yes", "--appendfsync", "always"]
        storage = appendonly if self.persistent else ["--appendonly", "no"]
        # A restart must wait for its own ready line, not the last run's.
        self.log_path.unlink(missing_ok=True)
        files = ["--dir", str(self.workdir), "--logfile", str(self.log_path)]
        self.launch(
            [binary, *listen, "--save", "", *storage, *files],
            ready="Ready to accept connections",
        )
        return self
