"""A revision's composite pod: the function container, and beside it the log sidecar
(logs), the metrics sidecar (metrics), and the init containers that prepare them (tools:
the log capture's shell; code: the revision's code, when it has any to mount).

A container function's container is its image running its command on FUNCTION_PORT
($PORT). A Python function's is the gaia image running the revision on its own gaia,
from a one-function gaia.yaml (see revision.function_document): the same warm, sandboxed
workers and the same handler contract as on the gateway's host.
"""

from __future__ import annotations

import math

from k8s import capture, logs, metrics
from k8s.containers import (
    CONFIG_DIR,
    CONFIG_VOLUME,
    FUNCTION_ADMIN_PORT,
    FUNCTION_PORT,
    container_port,
    env_list,
    health_probes,
    http_probe,
    locked_down,
    resources,
    tcp_probe,
)
from k8s.model import Options, Revision
from k8s.quantities import quantity
from runtime_adapters.container.settings import ContainerSettings

CODE_VOLUME = "code"
CODE_KEY = "code.tar.gz"
# Where a container function finds its code, as under gaia (bound read-only at /code).
CONTAINER_CODE_DIR = "/code"
# A Python function's own gaia: its file and code side by side (`code: ./code`), its state.
PYTHON_DIR = "/srv/gaia"
PYTHON_FILE_KEY = "gaia.yaml"
HOME_VOLUME = "home"
HOME_DIR = "/var/lib/gaia"
# The gaia process itself, beside its workers' `memory` each.
GAIA_OVERHEAD_BYTES = 256 * 1024**2
# A Python function's own gaia installs requirements.txt before it serves: give it time.
PYTHON_START_S = 300
# Past the function's timeout, for requests in flight to finish when a pod stops.
STOP_GRACE_S = 15


def code_container(image: str, into: str) -> dict[str, object]:
    return {
        "name": "code",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["/bin/busybox", "tar", "-xzf", f"{CONFIG_DIR}/{CODE_KEY}", "-C", into],
        "volumeMounts": [
            {"name": CONFIG_VOLUME, "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": CODE_VOLUME, "mountPath": into},
        ],
        "resources": resources(cpu="10m", memory_request="32Mi"),
        "securityContext": locked_down(read_only_root=True),
    }


def revision_pod(revision: Revision, options: Options, *, config_map: str) -> dict[str, object]:
    python = revision.runtime == "python"
    code_dir = f"{PYTHON_DIR}/code" if python else CONTAINER_CODE_DIR
    volumes: list[dict[str, object]] = [
        {"name": CONFIG_VOLUME, "configMap": {"name": config_map}},
        *capture.volumes(),
    ]
    init: list[dict[str, object]] = [capture.tools_container(options.images.tools)]
    if revision.code is not None:
        volumes.append({"name": CODE_VOLUME, "emptyDir": {}})
        init.append(code_container(options.images.tools, code_dir))
    if python:
        volumes.append({"name": HOME_VOLUME, "emptyDir": {}})
    init += [logs.container(options.images.logs), metrics.container(options.images.metrics)]
    function = python_container(revision, options) if python else container(revision, options)
    if revision.code is not None:
        mounts = function["volumeMounts"]
        assert isinstance(mounts, list)
        mounts.append({"name": CODE_VOLUME, "mountPath": code_dir, "readOnly": True})
    return {
        "initContainers": init,
        "containers": [function],
        "volumes": volumes,
        # A function sees only its own `env`, as under gaia: no variables for every Service.
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        "terminationGracePeriodSeconds": math.ceil(revision.settings.timeout_s) + STOP_GRACE_S,
    }


def container(revision: Revision, options: Options) -> dict[str, object]:
    settings = revision.settings
    assert isinstance(settings, ContainerSettings) and revision.command is not None
    ready = settings.readiness
    start_failures = max(1, math.ceil(ready.timeout_s))

    def check(period_s: int, failures: int) -> dict[str, object]:
        if ready.path is None:
            return tcp_probe(FUNCTION_PORT, period_s=period_s, failures=failures)
        return http_probe(ready.path, FUNCTION_PORT, period_s=period_s, failures=failures)

    memory = quantity(settings.memory_bytes)
    spec: dict[str, object] = {
        "name": "function",
        "image": revision.image,
        "imagePullPolicy": "IfNotPresent",
        "command": capture.wrap(revision.command),
        "env": env_list({**settings.env, "PORT": str(FUNCTION_PORT)}),
        "ports": [container_port("function", FUNCTION_PORT)],
        # Ready as gaia judges an instance ready, within `readiness.timeout`.
        "startupProbe": check(1, start_failures),
        "readinessProbe": check(5, 2),
        "livenessProbe": tcp_probe(FUNCTION_PORT, period_s=10, failures=3),
        "resources": resources(cpu=options.cpu, memory_request=memory),
        "volumeMounts": capture.function_mounts(),
        "securityContext": locked_down(read_only_root=False),
    }
    if settings.image is None:
        spec["workingDir"] = CONTAINER_CODE_DIR
    return spec


def python_container(revision: Revision, options: Options) -> dict[str, object]:
    settings = revision.settings
    pool = settings.pool
    command = [
        "gaia", "up", "-f", f"{PYTHON_DIR}/{PYTHON_FILE_KEY}",
        "--host", "0.0.0.0", "--port", str(FUNCTION_PORT),
        "--admin-host", "0.0.0.0", "--admin-port", str(FUNCTION_ADMIN_PORT),
    ]  # fmt: skip
    return {
        "name": "function",
        "image": revision.image,
        "imagePullPolicy": "IfNotPresent",
        "command": capture.wrap(command),
        "env": env_list({"GAIA_HOME": HOME_DIR}),
        "ports": [
            container_port("function", FUNCTION_PORT),
            container_port("admin", FUNCTION_ADMIN_PORT),
        ],
        # gaia answers /readyz once the function is published and warm.
        **health_probes("/healthz", FUNCTION_ADMIN_PORT, start_s=PYTHON_START_S, ready="/readyz"),
        # `pool.min` warm workers of `memory` each are the request, `pool.max` the limit.
        "resources": resources(
            cpu=options.cpu,
            memory_request=quantity(GAIA_OVERHEAD_BYTES + pool.min * settings.memory_bytes),
            memory_limit=quantity(GAIA_OVERHEAD_BYTES + pool.max * settings.memory_bytes),
        ),
        "volumeMounts": [
            *capture.function_mounts(),
            {
                "name": CONFIG_VOLUME,
                "mountPath": f"{PYTHON_DIR}/{PYTHON_FILE_KEY}",
                "subPath": PYTHON_FILE_KEY,
                "readOnly": True,
            },
            {"name": HOME_VOLUME, "mountPath": HOME_DIR},
        ],
        "securityContext": locked_down(read_only_root=False),
    }
