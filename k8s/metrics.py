"""The metrics sidecar: HAProxy (the official `haproxy` image, whose Prometheus exporter
is built in) in front of the function, as Knative's queue-proxy is. Its one job is
the function's request accounting: it counts and times every request and exposes them
on METRICS_PORT at /metrics, and it holds the function to its `concurrency` (queueing
the rest for up to the pool's `queue_timeout`, as gaia's pool does).

It also answers HEALTH_PATH itself, for the gateway's health checks of the Service.
"""

from __future__ import annotations

from k8s.containers import (
    CONFIG_DIR,
    FUNCTION_PORT,
    HEALTH_PATH,
    HTTP_PORT,
    METRICS_PORT,
    config_mount,
    container_port,
    health_probes,
    locked_down,
    resources,
)
from k8s.quantities import milliseconds

CONFIG_KEY = "haproxy.cfg"
METRICS_PATH = "/metrics"
# A request's head must arrive within this, as on gaia's own data plane.
HEADER_TIMEOUT_S = 10.0


def config(*, concurrency: int, timeout_s: float, queue_timeout_s: float) -> str:
    """`concurrency`: requests the function container takes at once; `timeout_s`: the
    function's timeout (the sidecar gives it a second more, so the function's own or the
    gateway's answer comes first)."""
    server_ms = milliseconds(timeout_s + 1)
    queue_ms = milliseconds(queue_timeout_s)
    client_ms = server_ms + queue_ms + milliseconds(HEADER_TIMEOUT_S)
    return f"""global
    maxconn 4096

defaults
    mode http
    timeout connect 5000
    timeout http-request {milliseconds(HEADER_TIMEOUT_S)}
    timeout client {client_ms}
    timeout server {server_ms}
    timeout queue {queue_ms}

frontend function
    bind :{HTTP_PORT}
    monitor-uri {HEALTH_PATH}
    default_backend function

frontend metrics
    bind :{METRICS_PORT}
    monitor-uri /healthz
    http-request use-service prometheus-exporter if {{ path {METRICS_PATH} }}

backend function
    server function 127.0.0.1:{FUNCTION_PORT} maxconn {concurrency}
"""


def container(image: str) -> dict[str, object]:
    return {
        "name": "metrics",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "command": ["haproxy", "-W", "-db", "-f", f"{CONFIG_DIR}/{CONFIG_KEY}"],
        "ports": [container_port("http", HTTP_PORT), container_port("metrics", METRICS_PORT)],
        **health_probes("/healthz", METRICS_PORT, start_s=30),
        "resources": resources(cpu="20m", memory_request="32Mi", memory_limit="64Mi"),
        "volumeMounts": [config_mount()],
        "securityContext": locked_down(read_only_root=True),
    }
