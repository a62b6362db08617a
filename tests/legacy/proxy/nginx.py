"""Debian's nginx as a standard reverse proxy before the old API: the oracle the header
tests compare gaia with, and the baseline of bench/legacy_proxy.py."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx

from tests.integration.harness import free_port, wait_for

# The usual reverse-proxy block: HTTP/1.1 with keep-alive to the upstream, the client's
# Host, the X-Forwarded-* trio, and nothing buffered, as gaia does.
CONFIG = """
worker_processes {workers};
daemon off;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    server_tokens off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream old_api {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 0;
        location / {{
            proxy_pass http://old_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_pass_header Server;
            proxy_request_buffering off;
            proxy_buffering off;
        }}
    }}
}}
"""


def write_config(prefix: Path, *, port: int, upstream_port: int, workers: int = 1) -> Path:
    """nginx.conf under `prefix`, listening on `port` before 127.0.0.1:`upstream_port`,
    with `workers` worker processes."""
    prefix.mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    # As root, nginx's workers would drop to `nobody`, which cannot reach a private
    # temporary directory.
    user = "user root;" if os.geteuid() == 0 else ""
    config.write_text(
        CONFIG.format(
            prefix=prefix, port=port, upstream_port=upstream_port, user=user, workers=workers
        )
    )
    return config


def nginx_argv(prefix: Path, config: Path) -> list[str]:
    return [nginx_binary(), "-p", str(prefix), "-c", str(config)]


def nginx_binary() -> str:
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if not os.path.exists(binary):
        raise RuntimeError("nginx is not installed: apt-get install nginx-light")
    return binary


class Nginx:
    def __init__(self, workdir: Path, upstream_port: int) -> None:
        self.prefix = workdir / "nginx"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.upstream_port = upstream_port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        config = write_config(self.prefix, port=self.port, upstream_port=self.upstream_port)
        self.process = subprocess.Popen(
            nginx_argv(self.prefix, config),
            stdout=subprocess.DEVNULL,
            stderr=(self.prefix / "stderr.log").open("wb"),
        )

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log()}")
            return httpx.get(f"{self.url}/hello", timeout=1).status_code == 200

        wait_for(ready, timeout=20, what=f"nginx on {self.url}")
        return self

    def log(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in (self.prefix / "stderr.log", self.prefix / "error.log")
            if path.exists()
        )

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
