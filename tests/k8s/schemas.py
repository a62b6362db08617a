"""The oracle for rendered manifests: the official Kubernetes schemas, as the
kubernetes-validate package ships them (in its wheel: no network), in their strict form
(no key the API does not know), for the Kubernetes version the README names; and the
API server's own rules for names and labels, which the schemas leave out."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import kubernetes_validate

KUBERNETES = "1.33"
# k8s.io/apimachinery/pkg/util/validation: a DNS-1123 label, a DNS-1123 subdomain, a
# DNS-1035 label (Service names), a qualified name and a label value.
_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
_QUALIFIED = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
# k8s.io/apimachinery IsConfigMapKey.
_CONFIG_KEY = re.compile(r"[-._a-zA-Z0-9]+")
_WORKLOADS = ("Deployment", "StatefulSet")


def validate(manifest: Mapping[str, Any]) -> None:
    """Raises with the schema's complaint, or the name or label rule broken."""
    kubernetes_validate.validate(dict(manifest), KUBERNETES, strict=True)
    meta = manifest["metadata"]
    name = meta["name"]
    assert len(name) <= 63, name
    pattern = _DNS1035_LABEL if manifest["kind"] == "Service" else _DNS1123_SUBDOMAIN
    assert pattern.fullmatch(name), f"{manifest['kind']} name {name!r}"
    assert _DNS1123_LABEL.fullmatch(meta["namespace"]), meta["namespace"]
    for labels in _label_sets(manifest):
        for key, value in labels.items():
            check_key(key)
            assert len(value) <= 63 and _LABEL_VALUE.fullmatch(value), f"label {key}={value!r}"
    for key in meta.get("annotations", {}):
        check_key(key)
    if manifest["kind"] == "ConfigMap":
        for key in [*manifest.get("data", {}), *manifest.get("binaryData", {})]:
            assert len(key) <= 253 and _CONFIG_KEY.fullmatch(key), f"ConfigMap key {key!r}"
    for port in _container_ports(manifest):
        name = port.get("name")
        assert name is None or (len(name) <= 15 and _DNS1123_LABEL.fullmatch(name)), name


def check_key(key: str) -> None:
    prefix, slash, name = key.rpartition("/")
    assert not slash or (len(prefix) <= 253 and _DNS1123_SUBDOMAIN.fullmatch(prefix)), key
    assert len(name) <= 63 and _QUALIFIED.fullmatch(name), key


def _label_sets(manifest: Mapping[str, Any]) -> Iterable[Mapping[str, str]]:
    yield manifest["metadata"].get("labels", {})
    spec = manifest.get("spec", {})
    if manifest["kind"] in _WORKLOADS:
        yield spec["template"]["metadata"]["labels"]
    if manifest["kind"] in (*_WORKLOADS, "PodDisruptionBudget"):
        yield spec["selector"]["matchLabels"]
    if manifest["kind"] == "Service":
        yield spec["selector"]
    for claim in spec.get("volumeClaimTemplates", []):
        yield claim["metadata"].get("labels", {})


def _container_ports(manifest: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    if manifest["kind"] not in _WORKLOADS:
        return
    pod = manifest["spec"]["template"]["spec"]
    for container in [*pod.get("initContainers", []), *pod["containers"]]:
        yield from container.get("ports", [])
