"""The gateway's own objects: a ConfigMap holding its gaia.yaml, a Deployment of `gaia up
-f` on it, and a Service in front. The builders take the replicas and the environment
(a shared store, GAIA_STORE=redis://..., for several replicas) as parameters.

In its gaia.yaml each function runs as `runtime: url` on the Service of its revision.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence

from configkit.units import format_duration
from gateway.home import TOKEN_FILE
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
from k8s.dump import yaml_text
from k8s.errors import RenderError
from k8s.model import Revision
from k8s.revision import service_url
from k8s.service import service

CONFIG_KEY = "gaia.yaml"
PORT = 8080
ADMIN_PORT = 8081
SERVICE_PORT = 8080
HOME_DIR = "/var/lib/gaia"
CONFIG_DIGEST = names.PREFIX + "config-digest"
# gaia's default --shutdown-timeout, written out so that the grace period below is
# seen to exceed it; and what Kubernetes gives beyond it before SIGKILL.
SHUTDOWN_TIMEOUT_S = 30
GRACE_MARGIN_S = 5
_KEY = re.compile(r"[-._a-zA-Z0-9]+")


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
    files: Mapping[str, str] | None = None,
    token_secret: str | None = None,
    pre_stop_s: int = 0,
) -> list[dict[str, object]]:
    """ConfigMap, Deployment and Service of a gateway serving `document` (gaia.yaml text).
    The pod carries the digest of the ConfigMap's files, so a changed file rolls the pods.

    `files`: more files for the config directory beside gaia.yaml (a function's code),
    by their path relative to it. `token_secret`: a Secret whose `admin-token` every
    replica takes as its admin token. `pre_stop_s`: how long a pod keeps serving after
    Kubernetes begins to stop it, while its endpoint is removed from the load balancers."""
    labels = names.gateway_labels()
    meta = names.metadata(names.GATEWAY, namespace, labels)
    extra = {config_key(path): text for path, text in (files or {}).items()}
    data = {CONFIG_KEY: document, **extra}
    digest = "sha256:" + hashlib.sha256(yaml_text([data]).encode()).hexdigest()
    # The admin API listens on the pod's address for the probes: it wants its token
    # (GAIA_HOME/admin-token) on everything but the probes, and the Service does not expose it.
    command = [
        "gaia", "up", "-f", f"{CONFIG_DIR}/{CONFIG_KEY}",
        "--host", "0.0.0.0", "--port", str(PORT),
        "--admin-host", "0.0.0.0", "--admin-port", str(ADMIN_PORT),
        "--shutdown-timeout", f"{SHUTDOWN_TIMEOUT_S}s",
    ]  # fmt: skip
    mounts: list[dict[str, object]] = [config_mount(), {"name": "home", "mountPath": HOME_DIR}]
    volumes: list[dict[str, object]] = [
        {"name": CONFIG_VOLUME, "configMap": _config_volume(files or {})},
        {"name": "home", "emptyDir": {}},
    ]
    if token_secret is not None:
        # One file into the writable home: the gateway finds its token there, as the CLI
        # does, and keeps everything else it writes in the emptyDir.
        mounts.append(
            {
                "name": "admin-token",
                "mountPath": f"{HOME_DIR}/{TOKEN_FILE}",
                "subPath": TOKEN_FILE,
                "readOnly": True,
            }
        )
        volumes.append(
            {
                "name": "admin-token",
                # Readable by whatever user the image runs as; no other container mounts it.
                "secret": {"secretName": token_secret, "defaultMode": 0o444},
            }
        )
    container: dict[str, object] = {
        "name": "gateway",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": command,
        "env": env_list({"GAIA_HOME": HOME_DIR, **(env or {})}),
        "ports": [container_port("http", PORT), container_port("admin", ADMIN_PORT)],
        **health_probes("/healthz", ADMIN_PORT, start_s=120, ready="/readyz"),
        "resources": resources(cpu=cpu, memory_request=memory),
        "volumeMounts": mounts,
        "securityContext": locked_down(read_only_root=False),
    }
    if pre_stop_s:
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": pre_stop_s}}}
    pod = {
        "containers": [container],
        "volumes": volumes,
        "enableServiceLinks": False,
        "automountServiceAccountToken": False,
        # SIGTERM comes after the preStop hook; the gateway then drains within its
        # shutdown timeout, and Kubernetes kills it only once both have had their time.
        "terminationGracePeriodSeconds": pre_stop_s + SHUTDOWN_TIMEOUT_S + GRACE_MARGIN_S,
    }
    return [
        config_map(meta, data=data),
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


def config_key(path: str) -> str:
    """A file's key in the ConfigMap: its relative path, `/` written `--` (a key holds
    letters, digits, `-`, `_` and `.` only); the volume puts it back at its path."""
    key = path.replace("/", "--")
    if "--" in path or not _KEY.fullmatch(key) or path == CONFIG_KEY:
        raise RenderError(
            f"cannot put {path} in the gateway's ConfigMap: a file's path holds letters,"
            " digits, '-', '_', '.' and single '/' only, and is not gaia.yaml"
        )
    return key


def _config_volume(files: Mapping[str, str]) -> dict[str, object]:
    volume: dict[str, object] = {"name": names.GATEWAY}
    if files:
        volume["items"] = [{"key": CONFIG_KEY, "path": CONFIG_KEY}] + [
            {"key": config_key(path), "path": path} for path in sorted(files)
        ]
    return volume
