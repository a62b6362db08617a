"""Start and stop real `gaia` processes for integration tests; wait on conditions, never sleep."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import httpx

T = TypeVar("T")
GAIA = [sys.executable, "-m", "gateway"]


def _port_slice() -> range:
    """Where this process picks ports for the servers tests start.

    Below the kernel's ephemeral range: outgoing connections take their local ports from
    it, so a port it handed out as free could be some client's by the time the server
    binds it (seen in CI as "Address already in use"). And a slice of that per xdist
    worker, so parallel workers never pick the same one.
    """
    try:
        ephemeral_low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        ephemeral_low = 32768
    low, high = 20000, min(ephemeral_low, 65536)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) if worker.isdigit() else 0
    size = (high - low) // 16
    start = low + (index % 16) * size
    return range(start, start + size)


_PORTS = _port_slice()
_next_port = random.randrange(len(_PORTS))


def free_port() -> int:
    """A port nothing listens on now, taken in turn from this process's slice."""
    global _next_port
    for _ in range(len(_PORTS)):
        port = _PORTS[_next_port % len(_PORTS)]
        _next_port += 1
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {_PORTS}")


def wait_for(
    condition: Callable[[], T | None], *, timeout: float = 20.0, what: str = "condition"
) -> T:
    """Poll until `condition` returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (httpx.HTTPError, OSError) as exc:
            last_error = exc
            value = None
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(
        f"timed out after {timeout}s waiting for {what} (last error: {last_error})"
    )


class Gaia:
    """One `gaia up` process with its own GAIA_HOME and ports."""

    def __init__(
        self,
        home: Path,
        *,
        extra_env: dict[str, str] | None = None,
        program: Sequence[str] = GAIA,
    ) -> None:
        self.home = home
        # What `start` runs: `gaia`, or a test's wrapper of it.
        self.program = list(program)
        self.port = free_port()
        self.admin_port = free_port()
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = home.parent / f"{home.name}-stderr.log"
        self.url = f"http://127.0.0.1:{self.port}"
        self.admin_url = f"http://127.0.0.1:{self.admin_port}"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "GAIA_HOME": str(self.home),
            "GAIA_ADMIN_URL": self.admin_url,
            **self.extra_env,
        }

    def start(self, *args: str, wait: bool = True, command: str = "up") -> Gaia:
        self.home.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                *self.program,
                command,
                "--port",
                str(self.port),
                "--admin-port",
                str(self.admin_port),
                *args,
            ],
            env=self.env,
            stdout=log,
            stderr=log,
            cwd=self.home.parent,
        )
        log.close()
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"gaia exited with {self.process.returncode}:\n{self.logs()}")
            # Ready, not merely alive: the admin listener answers /healthz while starting.
            return httpx.get(f"{self.admin_url}/readyz", timeout=1).status_code == 200

        wait_for(ready, timeout=timeout, what=f"gaia on {self.admin_url}")

    @property
    def token(self) -> str:
        return (self.home / "admin-token").read_text().strip()

    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.admin_url,
            headers={"authorization": f"Bearer {self.token}"},
            timeout=60,
        )

    def data(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def cli(
        self, *args: str, input: bytes | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run `gaia ARGS` against this gateway, in its project (or `cwd`)."""
        return subprocess.run(
            [*GAIA, *args],
            env=self.env,
            capture_output=True,
            text=True,
            input=input.decode() if input else None,
            timeout=120,
            cwd=cwd or self.home.parent,
        )

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def json_logs(self) -> Iterator[dict[str, object]]:
        for line in self.logs().splitlines():
            if line.startswith("{"):
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    continue

    def stop(self, timeout: float = 20.0) -> int:
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else 0
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError(f"gaia did not stop within {timeout}s after SIGTERM") from None

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


class GaiaFactory(Protocol):
    def __call__(self, name: str = ..., *, extra_env: dict[str, str] | None = ...) -> Gaia: ...


def write_function(directory: Path, source: str, *, files: Sequence[tuple[str, str]] = ()) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.py").write_text(source)
    for name, text in files:
        (directory / name).write_text(text)
    return directory


def admin_json(gaia: Gaia, path: str) -> Any:
    """What `GET path` on the admin API answers, failing on an error status."""
    with gaia.admin() as admin:
        response = admin.get(path)
        response.raise_for_status()
        return response.json()


def spliced(gaia: Gaia) -> int:
    """How many requests the data plane spliced so far (`gateway_http_spliced_total`)."""
    with gaia.admin() as admin:
        text = admin.get("/metrics").text
    (line,) = [line for line in text.splitlines() if line.startswith("gateway_http_spliced_total ")]
    return int(float(line.split()[1]))


def trigger_state(gaia: Gaia, trigger_id: str) -> dict[str, object]:
    """The live state `GET /v1/triggers/{id}` reports for one trigger."""
    with gaia.admin() as admin:
        response = admin.get(f"/v1/triggers/{trigger_id}")
        response.raise_for_status()
        state: dict[str, object] = response.json()["state"]
        return state
