"""What every container of the composite pod is made of: its ports, probes, resources
and a locked-down security context."""

from __future__ import annotations

from collections.abc import Mapping

# The pod's ports. Requests reach the metrics sidecar on HTTP_PORT (the Service's target),
# which passes them to the function on FUNCTION_PORT.
HTTP_PORT = 8080
FUNCTION_PORT = 8081
# A Python function's own gaia: its admin API, for probes (bound in the pod only).
FUNCTION_ADMIN_PORT = 8082
METRICS_PORT = 9101
LOGS_PORT = 2020
# Answered by the metrics sidecar itself: the gateway's health checks of a Service.
HEALTH_PATH = "/.gaia/healthz"

CONFIG_VOLUME = "config"
CONFIG_DIR = "/etc/gaia"


def http_probe(path: str, port: int | str, *, period_s: int, failures: int) -> dict[str, object]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period_s,
        "failureThreshold": failures,
        "timeoutSeconds": 1,
    }


def tcp_probe(port: int | str, *, period_s: int, failures: int) -> dict[str, object]:
    return {
        "tcpSocket": {"port": port},
        "periodSeconds": period_s,
        "failureThreshold": failures,
        "timeoutSeconds": 1,
    }


def health_probes(
    path: str, port: int, *, start_s: int, ready: str | None = None
) -> dict[str, object]:
    """Startup (up to `start_s`, checked each second), readiness and liveness probes of
    one health path, or of `ready` for the first two where readiness has its own path
    (gaia's /readyz beside its liveness /healthz): not ready after two failed checks,
    restarted after three."""
    ready_path = ready or path
    return {
        "startupProbe": http_probe(ready_path, port, period_s=1, failures=start_s),
        "readinessProbe": http_probe(ready_path, port, period_s=5, failures=2),
        "livenessProbe": http_probe(path, port, period_s=10, failures=3),
    }


def container_port(name: str, number: int) -> dict[str, object]:
    return {"name": name, "containerPort": number, "protocol": "TCP"}


def resources(
    *, cpu: str, memory_request: str, memory_limit: str | None = None
) -> dict[str, object]:
    """A CPU request but no CPU limit (throttling hurts latency, and gaia sets none), and
    memory bounded: a limit equal to the request unless given."""
    return {
        "requests": {"cpu": cpu, "memory": memory_request},
        "limits": {"memory": memory_limit or memory_request},
    }


def locked_down(*, read_only_root: bool) -> dict[str, object]:
    return {
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": read_only_root,
    }


def env_list(env: Mapping[str, str]) -> list[dict[str, object]]:
    return [{"name": name, "value": value} for name, value in sorted(env.items())]


def config_mount() -> dict[str, object]:
    return {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True}
