"""Every trigger kind, by the module path of the package that declares it.

A new kind is one package with `KIND = TriggerKind(...)` in its `__init__.py` and one
line here; nothing in `gateway/` changes. Packages are imported on first use, and
their broker clients only when a trigger of the kind starts.
"""

from __future__ import annotations

import importlib
from functools import cache

from triggers.kind import TriggerKind

# gaia.yaml key -> package; messages list the kinds in this order.
PACKAGES: dict[str, str] = {
    "http": "triggers.http",
    "kafka": "triggers.kafka",
    "nats": "triggers.nats",
    "cron": "triggers.cron",
}


def names() -> tuple[str, ...]:
    return tuple(PACKAGES)


@cache
def kind(name: str) -> TriggerKind:
    """The kind registered as `name`; KeyError if there is none."""
    found = importlib.import_module(PACKAGES[name]).KIND
    if not isinstance(found, TriggerKind) or found.name != name:
        raise TypeError(f"{PACKAGES[name]}.KIND is not the TriggerKind {name!r}")
    return found


def kinds() -> tuple[TriggerKind, ...]:
    return tuple(kind(name) for name in PACKAGES)
