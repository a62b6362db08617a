"""The shared store of a cluster of gateways: one Redis, in a StatefulSet of one pod with
its own volume, append-only, and a Service the gateways reach it by.

One server, not Redis Cluster: a change is one Lua script that checks P:version and
then writes the other keys, named in its arguments rather than declared in KEYS
(gateway/store/redis.py), and a load is one MULTI/EXEC over every key. Redis Cluster
refuses both: a script may touch only the keys it declares, and a script or a
transaction only keys of one hash slot (the prefix holds no `{}` hash tag to put them
in one).
"""

from __future__ import annotations

from k8s import names
from k8s.containers import container_port, locked_down, resources, tcp_probe
from k8s.service import service

NAME = "gaia-redis"
PORT = 6379
DATA_DIR = "/data"
# The official image's `redis` user: it owns the volume through fsGroup.
_UID = 999
# The append-only file, synced each second: a restart of Redis keeps the config (and
# the cron and limit keys); a change of the last second that is lost the replicas
# write back themselves (README "Cluster mode").
ARGS = ("redis-server", "--appendonly", "yes", "--appendfsync", "everysec", "--dir", DATA_DIR)


def labels() -> dict[str, str]:
    return {
        "app.kubernetes.io/name": NAME,
        "app.kubernetes.io/component": "store",
        "app.kubernetes.io/part-of": names.PART_OF,
        "app.kubernetes.io/managed-by": "gaia",
    }


def url(namespace: str) -> str:
    return f"redis://{NAME}.{namespace}.svc:{PORT}/0"


def redis_objects(*, namespace: str, image: str, storage: str) -> list[dict[str, object]]:
    """Service and StatefulSet of the one Redis the gateways share."""
    meta = names.metadata(NAME, namespace, labels())
    selector = {
        key: labels()[key] for key in ("app.kubernetes.io/name", "app.kubernetes.io/component")
    }
    container: dict[str, object] = {
        "name": "redis",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": list(ARGS),
        "ports": [container_port("redis", PORT)],
        "readinessProbe": {
            "exec": {"command": ["redis-cli", "ping"]},
            "periodSeconds": 5,
            "failureThreshold": 2,
            "timeoutSeconds": 1,
        },
        "livenessProbe": tcp_probe("redis", period_s=10, failures=3),
        "resources": resources(cpu="100m", memory_request="256Mi"),
        "volumeMounts": [{"name": "data", "mountPath": DATA_DIR}],
        "securityContext": locked_down(read_only_root=True),
    }
    stateful_set: dict[str, object] = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta,
        "spec": {
            "serviceName": NAME,
            "replicas": 1,
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {"labels": labels()},
                "spec": {
                    "containers": [container],
                    "securityContext": {
                        "runAsUser": _UID,
                        "runAsGroup": _UID,
                        "fsGroup": _UID,
                        "runAsNonRoot": True,
                    },
                    "enableServiceLinks": False,
                    "automountServiceAccountToken": False,
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": labels()},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": storage}},
                    },
                }
            ],
        },
    }
    return [service(meta, selector=selector, ports={"redis": PORT}), stateful_set]
