"""ConfigMap: text files, and binary ones (a revision's code) base64-encoded."""

from __future__ import annotations

import base64
from collections.abc import Mapping

# What the API server takes in one ConfigMap's data and binaryData together.
MAX_BYTES = 1024 * 1024


def config_map(
    meta: dict[str, object],
    *,
    data: Mapping[str, str],
    binary: Mapping[str, bytes] | None = None,
    immutable: bool = False,
) -> dict[str, object]:
    manifest: dict[str, object] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta,
        "data": dict(sorted(data.items())),
    }
    if binary:
        manifest["binaryData"] = {
            key: base64.b64encode(value).decode() for key, value in sorted(binary.items())
        }
    if immutable:
        manifest["immutable"] = True
    return manifest


def size(data: Mapping[str, str], binary: Mapping[str, bytes] | None = None) -> int:
    """What counts against MAX_BYTES."""
    return sum(len(key) + len(value.encode()) for key, value in data.items()) + sum(
        len(key) + len(value) for key, value in (binary or {}).items()
    )
