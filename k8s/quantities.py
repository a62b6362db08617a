"""Sizes and times in the spellings the manifests' readers take: Kubernetes quantities
(binary suffixes only: `1K` is no quantity, `1k` is 1000) and HAProxy milliseconds."""

from __future__ import annotations

import math

_BINARY = (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024))


def quantity(size: int) -> str:
    """Bytes as a Kubernetes quantity: the largest binary unit dividing it, else bytes."""
    for suffix, unit in _BINARY:
        if size and size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def milliseconds(seconds: float) -> int:
    """A time in whole milliseconds, never rounded down to less than it is."""
    return max(1, math.ceil(seconds * 1000))
