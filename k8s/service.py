"""Service: a stable address in front of the pods a selector picks."""

from __future__ import annotations

from collections.abc import Mapping


def service(
    meta: dict[str, object], *, selector: Mapping[str, str], ports: Mapping[str, int]
) -> dict[str, object]:
    """`ports`: the name of each pod port to expose, with the Service's port for it."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta,
        "spec": {
            "type": "ClusterIP",
            "selector": dict(selector),
            "ports": [
                {"name": name, "port": port, "targetPort": name, "protocol": "TCP"}
                for name, port in ports.items()
            ],
        },
    }
