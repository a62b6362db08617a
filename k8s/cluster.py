"""A cluster of gateways on one Redis (deploy/): the gateway's ConfigMap, Deployment,
Service and PodDisruptionBudget for N replicas sharing GAIA_STORE, beside the Redis they
share. The ConfigMap holds a gaia.yaml and its functions' code, which every replica
applies as it starts (replicas started together race to store it; the losers find it
stored and change nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.config import ConfigError, load_file
from k8s import names, redis
from k8s.configmap import MAX_BYTES, size
from k8s.disruption import disruption_budget
from k8s.errors import RenderError
from k8s.gateway import CONFIG_KEY, config_key, gateway_objects
from k8s.images import DEFAULT_GAIA
from k8s.render import GATEWAY_FILE, File

REDIS_FILE = "redis.yaml"
# Made by the user (`kubectl create secret`), never rendered: a token in a file in git
# would be everyone's.
TOKEN_SECRET = "gaia-admin-token"
# Time for the endpoint's removal to reach kube-proxy and the load balancers before the
# gateway stops accepting connections.
PRE_STOP_S = 5
DEFAULT_REDIS = "redis:7.2-alpine"


@dataclass(frozen=True, kw_only=True)
class ClusterOptions:
    namespace: str = "default"
    replicas: int = 3
    gaia_image: str = DEFAULT_GAIA
    redis_image: str = DEFAULT_REDIS
    storage: str = "1Gi"
    cpu: str = "500m"
    memory: str = "512Mi"


def render_cluster(config: Path, options: ClusterOptions) -> tuple[File, ...]:
    document, files = read_config(config)
    gateway = gateway_objects(
        document,
        namespace=options.namespace,
        image=options.gaia_image,
        replicas=options.replicas,
        env={"GAIA_STORE": redis.url(options.namespace)},
        cpu=options.cpu,
        memory=options.memory,
        files=files,
        token_secret=TOKEN_SECRET,
        pre_stop_s=PRE_STOP_S,
    )
    # One pod at a time, whatever N is: the rest serve, and a rolling update does the same.
    budget = disruption_budget(
        names.metadata(names.GATEWAY, options.namespace, names.gateway_labels()),
        selector=names.gateway_selector(),
        max_unavailable=1,
    )
    store = redis.redis_objects(
        namespace=options.namespace, image=options.redis_image, storage=options.storage
    )
    return (
        File(name=GATEWAY_FILE, manifests=(*gateway, budget)),
        File(name=REDIS_FILE, manifests=tuple(store)),
    )


def read_config(config: Path) -> tuple[str, dict[str, str]]:
    """The gaia.yaml's text, and each function's code files by their path relative to
    its directory (where `code:` finds them in the pod, as here)."""
    try:
        parsed = load_file(config, check_code=True)
    except ConfigError as exc:
        raise RenderError(str(exc)) from None
    base = config.parent.absolute()
    files: dict[str, str] = {}
    for name, function in parsed.functions.items():
        if function.code is None:
            continue
        if not function.code.is_relative_to(base):
            raise RenderError(
                f"functions.{name}.code: {function.code} is outside {base}: the ConfigMap"
                " holds the file's directory only; move the code below it"
            )
        for path in sorted(function.code.rglob("*")):
            if not path.is_file() or "__pycache__" in path.parts:
                continue
            relative = path.relative_to(base).as_posix()
            try:
                files[relative] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                raise RenderError(
                    f"functions.{name}: {relative} is not text: the ConfigMap holds the code"
                    " as text; put binary files in an image"
                ) from None
            config_key(relative)  # refuses a path a ConfigMap key cannot hold
    document = config.read_text(encoding="utf-8")
    total = size({CONFIG_KEY: document, **{config_key(p): t for p, t in files.items()}})
    if total > MAX_BYTES:
        raise RenderError(
            f"{config} and its functions' code come to {total} bytes: a ConfigMap holds"
            f" at most {MAX_BYTES}; put the code in an image"
        )
    return document, files
