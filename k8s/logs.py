"""The log sidecar: Fluent Bit (the `fluent/fluent-bit` image) tails the function's
output file (see capture) and ships each line with the function, revision and pod.

Its [OUTPUT] writes JSON lines to its own stdout (`kubectl logs POD -c logs`); point it
at Loki, Elasticsearch or a Fluentd aggregator by editing the ConfigMap.
"""

from __future__ import annotations

from k8s.capture import LOG_DIR, LOG_FILE, LOGS_VOLUME
from k8s.containers import (
    CONFIG_DIR,
    LOGS_PORT,
    config_mount,
    container_port,
    health_probes,
    locked_down,
    resources,
)
from k8s.model import Revision

CONFIG_KEY = "fluent-bit.conf"
BINARY = "/fluent-bit/bin/fluent-bit"


def config(revision: Revision) -> str:
    return f"""[SERVICE]
    Flush         1
    Log_Level     info
    HTTP_Server   On
    HTTP_Listen   0.0.0.0
    HTTP_Port     {LOGS_PORT}
    Health_Check  On

[INPUT]
    Name              tail
    Path              {LOG_FILE}
    Tag               function
    Read_from_Head    On
    Refresh_Interval  1
    Rotate_Wait       5
    Skip_Long_Lines   On
    Mem_Buf_Limit     8MB
    DB                {LOG_DIR}/.fluent-bit.db

[FILTER]
    Name    record_modifier
    Match   function
    Record  function {revision.function}
    Record  revision {revision.number}
    Record  pod ${{POD_NAME}}

[OUTPUT]
    Name    stdout
    Match   function
    Format  json_lines
"""


def container(image: str) -> dict[str, object]:
    """A native sidecar (an init container that keeps running): it starts before the
    function and stops after it, so the last lines are shipped too."""
    return {
        "name": "logs",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "restartPolicy": "Always",
        "command": [BINARY, "-c", f"{CONFIG_DIR}/{CONFIG_KEY}"],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [container_port("logs", LOGS_PORT)],
        # Health_Check: unhealthy once output errors or retries pile up.
        **health_probes("/api/v1/health", LOGS_PORT, start_s=30),
        "resources": resources(cpu="20m", memory_request="32Mi", memory_limit="64Mi"),
        "volumeMounts": [config_mount(), {"name": LOGS_VOLUME, "mountPath": LOG_DIR}],
        "securityContext": locked_down(read_only_root=True),
    }
