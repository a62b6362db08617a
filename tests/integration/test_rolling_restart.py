"""A rolling restart of three gateways behind nginx under wrk load: 0 failed requests.

The three run in cluster mode, on one redis-server as their store, as deploy/k8s runs
them: each starts with the same gaia.yaml.

Each replica in turn gets SIGTERM, exits, and starts again on the same ports; the next
one is restarted only once nginx sends the restarted one traffic again. nginx (Debian's
nginx-light, which has no active health checks) needs only what the README's
load-balancer notes say: `proxy_next_upstream error timeout` retries a request whose
connection a stopping replica refused or closed on another replica, and a short
`fail_timeout` brings a restarted replica back soon.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from functools import partial
from pathlib import Path

import httpx

from bench.balancer import write_balancer
from bench.common import parse_wrk, wrk_command
from tests.brokers.redis import RedisServer
from tests.integration.harness import Gaia, GaiaFactory, free_port, wait_for, write_function
from tests.legacy.proxy.nginx import nginx_argv

# wrk runs until the restarts are done and is then stopped with SIGINT (it prints its
# summary then); this is only the upper bound.
LOAD_S = 600
PACE_MS = 4


def start_nginx(prefix: Path, replicas: list[Gaia]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    config = write_balancer(prefix, port=port, upstreams=[g.port for g in replicas])
    process = subprocess.Popen(
        nginx_argv(prefix, config),
        stdout=subprocess.DEVNULL,
        stderr=(prefix / "stderr.log").open("wb"),
    )
    url = f"http://127.0.0.1:{port}"
    wait_for(lambda: httpx.get(f"{url}/hello", timeout=1).status_code == 200, what="nginx")
    return process, url


def served(gaia: Gaia) -> int:
    return sum(1 for e in gaia.json_logs() if e.get("route") == "/hello")


def more_than(gaia: Gaia, count: int) -> bool:
    return served(gaia) > count


def test_a_rolling_restart_behind_nginx_under_wrk_fails_no_request(
    tmp_path: Path, gaia_factory: GaiaFactory, redis_server: RedisServer
) -> None:
    write_function(tmp_path / "fn", "def handler(event, context):\n    return 'hi'\n")
    config = tmp_path / "gaia.yaml"
    config.write_text(
        "functions:\n  hello:\n    code: ./fn\n    triggers:\n      - http: {path: /hello}\n"
    )
    store = f"{redis_server.url}?prefix=rolling-{uuid.uuid4().hex[:8]}"
    replicas = [
        gaia_factory(f"r{n}", extra_env={"GAIA_STORE": store, "GAIA_REPLICA": f"r{n}"}).start(
            "-f", str(config), wait=False
        )
        for n in range(3)
    ]
    for gaia in replicas:
        gaia.wait_ready()
    nginx, url = start_nginx(tmp_path / "nginx", replicas)
    try:
        # Paced (each connection waits a few ms between requests), so that the
        # restarted gateways get the CPU to start on this 2-core machine.
        pacing = tmp_path / "pace.lua"
        pacing.write_text(f"function delay()\n  return {PACE_MS}\nend\n")
        command = wrk_command(f"{url}/hello", 8, LOAD_S)
        # A busy machine may answer slowly: a slow answer is not a failed one.
        command += ["-s", str(pacing), "--timeout", "10s"]
        load = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        started = time.monotonic()
        wait_for(lambda: all(served(g) > 50 for g in replicas), what="load on every replica")
        for gaia in replicas:
            before = served(gaia)
            assert gaia.stop(timeout=30) == 0  # SIGTERM, and wait for the exit
            # The same ports. A busy 2-core machine may take long to start Python.
            gaia.start("-f", str(config), wait=False)
            gaia.wait_ready(timeout=120)
            wait_for(
                partial(more_than, gaia, before + 50), timeout=60, what="nginx to use it again"
            )
        restarts_took = time.monotonic() - started
        load.send_signal(signal.SIGINT)
        output, _ = load.communicate(timeout=30)
    finally:
        nginx.terminate()
        nginx.wait(timeout=10)
    result = parse_wrk(output)
    print(
        f"\n{result.requests} requests through 3 restarts in {restarts_took:.1f}s:"
        f" {result.non_2xx} non-2xx, {result.socket_errors} socket errors"
    )
    assert result.requests > 1000
    assert (result.non_2xx, result.socket_errors) == (0, 0)
    for gaia in replicas:
        with gaia.admin() as admin:
            assert admin.get("/v1/status").json()["store"]["kind"] == "redis"
