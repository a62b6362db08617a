"""The gateway's own objects: a ConfigMap holding its gaia.yaml, a Deployment of `gaia up
-f` on it, and a Service in front. The builders take the replicas and the environment
(a shared store, GAIA_STORE=redis://..., for several replicas) as parameters.

In its gaia.yaml each function runs as `runtime: url` on the Service of its revision.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from configkit.units import format_duration
from k8s import names
from k8s.configmap import config_map
from k8s.containers import (
    CONFIG_DIR,
    CONFIG_VOLUME,
    HEALTH_PATH,
    config_mount,
    container_port,
    env_list,
    health_probes,
    locked_down,
    resources,
)
from k8s.deployment import deployment
from k8s.model import Revision
from k8s.revision import service_url
from k8s.service import service

CONFIG_KEY = "gaia.yaml"
PORT = 8080
ADMIN_PORT = 8081
SERVICE_PORT = 8080
HOME_DIR = "/var/lib/gaia"
CONFIG_DIGEST = names.PREFIX + "config-digest"


def gateway_document(revisions: Sequence[Revision], *, namespace: str) -> dict[str, object]:
    """The gateway's gaia.yaml: each revision's function as `runtime: url` on its
    Service, with the function's timeout, its aliases (each serving that revision, the
    only one the file defines), and its triggers."""
    functions: dict[str, object] = {}
    for revision in revisions:
        body: dict[str, object] = {
            "runtime": "url",
            "urls": [service_url(revision, namespace)],
            "health": {"path": HEALTH_PATH},
            "timeout": format_duration(revision.settings.timeout_s),
        }
        if revision.aliases:
            body["aliases"] = {
                alias: {"traffic": [{"revision": "latest", "percent": 100}]}
                for alias in revision.aliases
            }
        if revision.triggers:
            body["triggers"] = [trigger.to_yaml() for trigger in revision.triggers]
        functions[revision.function] = body
    return {"functions": functions}


def gateway_objects(
    document: str,
    *,
    namespace: str,
    image: str,
    replicas: int = 1,
    env: Mapping[str, str] | None = None,
    cpu: str = "250m",
    memory: str = "512Mi",
) -> list[dict[str, object]]:
    """ConfigMap, Deployment and Service of a gateway serving `document` (gaia.yaml text).
    The pod carries the document's digest, so a changed file rolls the pods."""
    labels = names.gateway_labels()
    meta = names.metadata(names.GATEWAY, namespace, labels)
    digest = "sha256:" + hashlib.sha256(document.encode()).hexdigest()
    # The admin API listens on the pod's address for the probes: it wants its token
    # (GAIA_HOME/admin-token) on everything but the probes, and the Service does not expose it.
    command = [
        "gaia", "up", "-f", f"{CONFIG_DIR}/{CONFIG_KEY}",
        "--host", "0.0.0.0", "--port", str(PORT),
        "--admin-host", "0.0.0.0", "--admin-port", str(ADMIN_PORT),
    ]  # fmt: skip
    container: dict[str, object] = {
        "name": "gateway",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env_list({"GAIA_HOME": HOME_DIR, **(env or {})}),
        "ports": [container_port("http", PORT), container_port("admin", ADMIN_PORT)],
        **health_probes("/healthz", ADMIN_PORT, start_s=120, ready="/readyz"),
        "resources": resources(cpu=cpu, memory_request=memory),
        "volumeMounts": [config_mount(), {"name": "home", "mountPath": HOME_DIR}],
        "securityContext": locked_down(read_only_root=False),
    }
    pod = {
        "containers": [container],
        "volumes": [
            {"name": CONFIG_VOLUME, "configMap": {"name": names.GATEWAY}},
            {"name": "home", "emptyDir": {}},
        ],
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
    }
    return [
        config_map(meta, data={CONFIG_KEY: document}),
        deployment(
            meta,
            selector=names.gateway_selector(),
            pod_labels=labels,
            pod_annotations={CONFIG_DIGEST: digest},
            pod=pod,
            replicas=replicas,
        ),
        service(meta, selector=names.gateway_selector(), ports={"http": SERVICE_PORT}),
    ]
