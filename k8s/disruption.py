"""PodDisruptionBudget: how many of a Deployment's pods a voluntary disruption (a node
drained, a cluster upgraded) may take down at once."""

from __future__ import annotations

from collections.abc import Mapping


def disruption_budget(
    meta: dict[str, object], *, selector: Mapping[str, str], max_unavailable: int
) -> dict[str, object]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta,
        # maxUnavailable rather than minAvailable: it holds as the Deployment is scaled.
        "spec": {"maxUnavailable": max_unavailable, "selector": {"matchLabels": dict(selector)}},
    }
