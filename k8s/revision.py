"""A revision's objects: its ConfigMap (the sidecars' configuration, a Python function's
gaia.yaml, the code), its Deployment (the composite pod, see pod) and its Service."""

from __future__ import annotations

from k8s import configmap, logs, metrics, names
from k8s.configmap import config_map
from k8s.containers import HTTP_PORT, METRICS_PORT
from k8s.deployment import deployment
from k8s.dump import yaml_text
from k8s.errors import RenderError
from k8s.model import Options, Revision
from k8s.pod import CODE_KEY, PYTHON_FILE_KEY, revision_pod
from k8s.service import service

SERVICE_PORT = HTTP_PORT


def service_url(revision: Revision, namespace: str) -> str:
    """Where the gateway reaches the revision: its Service, by its cluster DNS name."""
    name = names.revision_name(revision.function, revision.number)
    return f"http://{name}.{namespace}.svc:{SERVICE_PORT}"


def function_document(revision: Revision) -> dict[str, object]:
    """A Python function's own gaia.yaml: the revision's settings as stored (so its own
    gaia computes the same digest), the code beside the file, and the HTTP triggers, for
    the gateway passes requests on with their paths unchanged. The pod serves one
    revision, so they all target its `default` alias; the gateway in front has already
    matched their hosts."""
    http: list[dict[str, object]] = []
    for trigger in revision.triggers:
        spec = {k: v for k, v in trigger.spec.items() if k not in ("alias", "host")}
        if trigger.kind == "http" and {"http": spec} not in http:
            http.append({"http": spec})
    body: dict[str, object] = {**revision.config, "code": "./code"}
    if http:
        body["triggers"] = http
    return {"functions": {revision.function: body}}


def concurrency_limit(revision: Revision) -> int:
    """Requests the function container takes at once: one instance's `concurrency`, or
    for a Python function, whose own gaia runs a pool, `pool.max` instances' worth."""
    settings = revision.settings
    if revision.runtime == "python":
        return settings.concurrency * settings.pool.max
    return settings.concurrency


def revision_objects(revision: Revision, options: Options) -> list[dict[str, object]]:
    name = names.revision_name(revision.function, revision.number)
    settings = revision.settings
    queue_timeout_s = settings.pool.queue_timeout_s
    data = {
        logs.CONFIG_KEY: logs.config(revision),
        metrics.CONFIG_KEY: metrics.config(
            concurrency=concurrency_limit(revision),
            timeout_s=settings.timeout_s,
            queue_timeout_s=settings.timeout_s if queue_timeout_s is None else queue_timeout_s,
        ),
    }
    if revision.runtime == "python":
        data[PYTHON_FILE_KEY] = yaml_text([function_document(revision)])
    binary = {CODE_KEY: revision.code} if revision.code is not None else {}
    size = configmap.size(data, binary)
    if size > configmap.MAX_BYTES:
        raise RenderError(
            f"{revision.label}: its code is {size / 1024**2:.1f} MiB packed, and a ConfigMap"
            f" holds at most {configmap.MAX_BYTES // 1024**2} MiB: put the code in an image"
            " (runtime: container with image:)"
        )
    labels = names.revision_labels(revision)
    annotations = names.revision_annotations(revision)
    pod_annotations = {
        **annotations,
        "kubectl.kubernetes.io/default-container": "function",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(METRICS_PORT),
        "prometheus.io/path": metrics.METRICS_PATH,
    }
    meta = names.metadata(name, options.namespace, labels, annotations)
    selector = names.selector(revision)
    return [
        config_map(meta, data=data, binary=binary, immutable=True),
        deployment(
            meta,
            selector=selector,
            pod_labels=labels,
            pod_annotations=pod_annotations,
            pod=revision_pod(revision, options, config_map=name),
            replicas=options.replicas,
        ),
        service(meta, selector=selector, ports={"http": SERVICE_PORT}),
    ]
