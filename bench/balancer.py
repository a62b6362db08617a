"""nginx in front of several gateways, configured as the README's load-balancer notes
say (keep-alive to the upstreams, `proxy_next_upstream error timeout`, a short
`fail_timeout`): what the rolling-restart test and bench.replicas put before replicas."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

NGINX = """
worker_processes 1;
daemon off;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream gaia {{
{servers}
        keepalive 32;
        keepalive_timeout 4s;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://gaia;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout;
            proxy_connect_timeout 1s;
        }}
    }}
}}
"""


def write_balancer(prefix: Path, *, port: int, upstreams: Sequence[int]) -> Path:
    """nginx.conf under `prefix`: listening on `port`, before 127.0.0.1 at `upstreams`."""
    prefix.mkdir(parents=True, exist_ok=True)
    servers = "\n".join(
        f"        server 127.0.0.1:{upstream} max_fails=1 fail_timeout=1s;"
        for upstream in upstreams
    )
    # As root, nginx's workers would drop to `nobody`, which cannot reach a private
    # temporary directory.
    user = "user root;" if os.geteuid() == 0 else ""
    config = prefix / "nginx.conf"
    config.write_text(NGINX.format(prefix=prefix, port=port, servers=servers, user=user))
    return config
