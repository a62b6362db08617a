"""Object names, labels and annotations.

A revision's objects are named `FUNCTION-rN` (a Service name is a DNS-1035 label: at
most 63 characters, a letter first); a function name near the 63-character limit is cut
and given a hash of the whole, so two revisions never share a name.
"""

from __future__ import annotations

import hashlib

from k8s.model import Revision

MAX_NAME = 63
PREFIX = "gaia/"
FUNCTION = PREFIX + "function"
REVISION = PREFIX + "revision"
DIGEST = PREFIX + "digest"
# The gateway's objects; no revision's name can be this (those end in `-rN`).
GATEWAY = "gaia"
PART_OF = "gaia"
# A label value holds at most 63 characters: the full digest is an annotation.
SHORT_DIGEST = 12


def revision_name(function: str, number: int) -> str:
    suffix = f"-r{number}"
    name = function + suffix
    if len(name) <= MAX_NAME:
        return name
    tag = hashlib.sha256(name.encode()).hexdigest()[:8]
    head = function[: MAX_NAME - len(suffix) - len(tag) - 1].rstrip("-")
    return f"{head}-{tag}{suffix}"


def selector(revision: Revision) -> dict[str, str]:
    """What a revision's Deployment and Service select: its pods and no others."""
    return {FUNCTION: revision.function, REVISION: str(revision.number)}


def revision_labels(revision: Revision) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": revision.function,
        "app.kubernetes.io/instance": revision_name(revision.function, revision.number),
        "app.kubernetes.io/version": str(revision.number),
        "app.kubernetes.io/component": "function",
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "gaia",
        **selector(revision),
        DIGEST: revision.digest.removeprefix("sha256:")[:SHORT_DIGEST],
    }


def revision_annotations(revision: Revision) -> dict[str, str]:
    return {DIGEST: revision.digest, PREFIX + "target": revision.label}


def gateway_selector() -> dict[str, str]:
    return {"app.kubernetes.io/name": GATEWAY, "app.kubernetes.io/component": "gateway"}


def gateway_labels() -> dict[str, str]:
    return {
        **gateway_selector(),
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "gaia",
    }


def metadata(
    name: str, namespace: str, labels: dict[str, str], annotations: dict[str, str] | None = None
) -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "namespace": namespace, "labels": labels}
    if annotations:
        meta["annotations"] = annotations
    return meta
