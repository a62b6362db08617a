"""deploy/k8s run here as the pods run it: redis-server with the StatefulSet's command,
and two gateways with the Deployment's command, environment and files (the ConfigMap's
items at their paths, the Secret's token in GAIA_HOME). Only addresses and directories
move: ports to free ones, /etc/gaia and /data to temporary directories."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml

from configkit.units import parse_duration
from tests.brokers.process import ServerProcess
from tests.integration.harness import GAIA, Gaia, free_port, wait_for

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
NOTES = DEPLOY.parent / "README.md"
TOKEN = "a-token-from-the-secret"
HAPROXY = """
global
    log stderr format raw local0 warning
defaults
    mode http
    timeout connect 1s
    timeout client 30s
frontend front
    bind 127.0.0.1:{port}
    default_backend gaia
"""


def _haproxy_backend(replicas: list[Gaia]) -> str:
    """deploy/README.md's HAProxy backend, its servers these replicas (each with its own
    admin port here, where the pods share 8081)."""
    [block] = re.findall(r"```haproxy\n(.*?)```", NOTES.read_text(), flags=re.DOTALL)
    lines = [line.strip() for line in block.splitlines() if line.strip()]
    kept = [line for line in lines if not line.startswith("server ")]
    assert "default-server check port 8081 inter 1s fall 1 rise 2" in kept
    kept = [line.replace(" port 8081", "") for line in kept]
    servers = [
        f"server gw{n} 127.0.0.1:{g.port} port {g.admin_port}" for n, g in enumerate(replicas)
    ]
    return "\n".join("    " + line for line in [*kept, *servers])


def _manifest(file: str, kind: str) -> dict[str, Any]:
    documents: list[dict[str, Any]] = list(yaml.safe_load_all((DEPLOY / file).read_text()))
    [found] = [m for m in documents if m["kind"] == kind]
    return found


class _Redis(ServerProcess):
    name = "redis-server"


def _start_redis(tmp_path: Path) -> tuple[_Redis, str]:
    pod = _manifest("redis.yaml", "StatefulSet")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    [mount] = container["volumeMounts"]
    data = tmp_path / "data"
    data.mkdir()
    port = free_port()
    binary = shutil.which(container["command"][0])
    assert binary is not None, "redis-server is not installed: apt-get install redis-server"
    argv = [
        binary,
        *(str(data) if a == mount["mountPath"] else a for a in container["command"][1:]),
    ]
    server = _Redis(tmp_path / "redis.log")
    server.launch(
        [*argv, "--port", str(port), "--bind", "127.0.0.1", "--logfile", str(server.log_path)],
        ready="Ready to accept connections",
    )
    return server, f"redis://127.0.0.1:{port}/0"


def _config_dir(tmp_path: Path, pod: dict[str, Any]) -> Path:
    """The ConfigMap's files where the pod's volume puts them."""
    config_map = _manifest("gateway.yaml", "ConfigMap")
    [volume] = [v for v in pod["volumes"] if "configMap" in v]
    target = tmp_path / "etc-gaia"
    for item in volume["configMap"]["items"]:
        path = target / item["path"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_map["data"][item["key"]])
    return target


def _gateway(tmp_path: Path, name: str, store: str) -> tuple[Gaia, float]:
    """One replica as the Deployment starts it, and its shutdown timeout."""
    pod = _manifest("gateway.yaml", "Deployment")["spec"]["template"]["spec"]
    [container] = pod["containers"]
    [config_mount] = [m for m in container["volumeMounts"] if m["name"] == "config"]
    [token_mount] = [m for m in container["volumeMounts"] if m["name"] == "admin-token"]
    env = {e["name"]: e["value"] for e in container["env"]}
    config = _config_dir(tmp_path / name, pod)
    command = container["command"]
    assert command[:2] == ["gaia", "up"]
    args: list[str] = []
    words = iter(command[2:])
    for word in words:
        if word in ("--port", "--admin-port"):
            next(words)  # the harness gives each replica its own
            continue
        if word == "0.0.0.0":
            word = "127.0.0.1"
        args.append(word.replace(config_mount["mountPath"], str(config)))
    home = tmp_path / name / "home"
    # The Secret's file, where the subPath mount puts it in the emptyDir.
    token_path = home / Path(token_mount["mountPath"]).relative_to(env["GAIA_HOME"])
    token_path.parent.mkdir(parents=True)
    token_path.write_text(TOKEN)
    token_path.chmod(0o444)
    gaia = Gaia(home, extra_env={**env, "GAIA_HOME": str(home), "GAIA_STORE": store}, program=GAIA)
    gaia.start(*args, wait=False)
    return gaia, parse_duration(args[args.index("--shutdown-timeout") + 1])


class _Traffic:
    """HAProxy before the replicas, and one client sending requests through it until
    the block ends; counts the answers by status (0: the request failed)."""

    def __init__(self, tmp_path: Path, replicas: list[Gaia]) -> None:
        port = free_port()
        config = tmp_path / "haproxy.cfg"
        config.write_text(HAPROXY.format(port=port) + _haproxy_backend(replicas) + "\n")
        binary = shutil.which("haproxy") or "/usr/sbin/haproxy"
        checked = subprocess.run([binary, "-c", "-f", str(config)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout + checked.stderr
        self._process = subprocess.Popen(
            [binary, "-db", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "haproxy.log").open("wb"),
        )
        self.url = f"http://127.0.0.1:{port}/hello/ada"
        self.answers: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send)

    def _send(self) -> None:
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                try:
                    self.answers[client.get(self.url).status_code] += 1
                except httpx.HTTPError:
                    self.answers[0] += 1

    def __enter__(self) -> _Traffic:
        wait_for(lambda: httpx.get(self.url, timeout=2).status_code == 200, what="haproxy")
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._process.terminate()
        self._process.wait(timeout=10)


def test_the_deployment_serves_from_its_redis_with_the_secrets_token(tmp_path: Path) -> None:
    server, store = _start_redis(tmp_path)
    replicas: list[Gaia] = []
    try:
        client = redis.Redis.from_url(store)
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        client.close()
        started = [_gateway(tmp_path, f"gw-{n}", store) for n in range(2)]
        replicas = [gaia for gaia, _ in started]
        for gaia in replicas:
            gaia.wait_ready(timeout=90)
            ready = httpx.get(f"{gaia.admin_url}/readyz", timeout=5)
            assert (ready.status_code, ready.json()["status"]) == (200, "ready")
            hello = httpx.get(f"{gaia.url}/hello/ada", timeout=10)
            assert hello.json() == {"message": "hello, ada"}
            # The Secret's token opens every replica's admin API, and stays as it was.
            status = httpx.get(
                f"{gaia.admin_url}/v1/status",
                headers={"authorization": f"Bearer {TOKEN}"},
                timeout=10,
            )
            assert status.status_code == 200, status.text
            assert status.json()["store"]["kind"] == "redis"
            assert gaia.token == TOKEN
        versions = {
            httpx.get(
                f"{g.admin_url}/v1/status", headers={"authorization": f"Bearer {TOKEN}"}
            ).json()["store"]["version"]
            for g in replicas
        }
        assert len(versions) == 1, versions
        # Behind HAProxy as deploy/README.md configures it, under traffic: SIGTERM drains
        # one replica within the pod's grace period, and not one request fails.
        grace = _manifest("gateway.yaml", "Deployment")["spec"]["template"]["spec"][
            "terminationGracePeriodSeconds"
        ]
        gaia, shutdown_s = started[0]
        assert shutdown_s < grace
        with _Traffic(tmp_path, replicas) as traffic:
            wait_for(lambda: traffic.answers[200] > 50, what="traffic through haproxy")
            began = time.monotonic()
            assert gaia.stop(timeout=grace) == 0
            assert time.monotonic() - began < shutdown_s
            after = traffic.answers[200]
            wait_for(lambda: traffic.answers[200] > after + 50, what="traffic on the other replica")
        assert set(traffic.answers) == {200}, traffic.answers
    finally:
        for gaia in replicas:
            gaia.kill()
        server.stop()
