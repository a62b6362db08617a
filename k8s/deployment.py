"""Deployment: `replicas` pods of one pod template."""

from __future__ import annotations

from collections.abc import Mapping


def deployment(
    meta: dict[str, object],
    *,
    selector: Mapping[str, str],
    pod_labels: Mapping[str, str],
    pod_annotations: Mapping[str, str],
    pod: dict[str, object],
    replicas: int,
) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": dict(selector)},
            # A new pod is ready before an old one goes: no gap in serving.
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {"labels": dict(pod_labels), "annotations": dict(pod_annotations)},
                "spec": pod,
            },
        },
    }
