"""Every trigger kind, by the module path of the package that declares it.

A new kind is one package with `KIND = TriggerKind(...)` in its `__init__.py` and one
line here; nothing in `gateway/` changes. Packages are imported on first use, and
their broker clients only when a trigger of the kind starts.
"""

from __future__ import annotations

from configkit.registry import Registry
from triggers.kind import TriggerKind

# gaia.yaml key -> package; messages list the kinds in this order.
PACKAGES: dict[str, str] = {
    "http": "triggers.http",
    "kafka": "triggers.kafka",
    "nats": "triggers.nats",
    "redis": "triggers.redis",
    "cron": "triggers.cron",
}

_KINDS = Registry(TriggerKind, PACKAGES)
names = _KINDS.names
kind = _KINDS.kind
kinds = _KINDS.kinds
