"""What a render starts from: revisions as the admin API describes them, resolved to
the images they run, and the choices of the command line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from runtime_adapters.settings import InstanceSettings


@dataclass(frozen=True, kw_only=True)
class Trigger:
    """A trigger as gaia.yaml writes it: `- KIND: SPEC`, its target already rewritten
    for the gateway in front of the cluster (an alias, never a pinned revision)."""

    kind: str
    spec: Mapping[str, object]

    def to_yaml(self) -> dict[str, object]:
        return {self.kind: dict(self.spec)}


@dataclass(frozen=True, kw_only=True)
class Revision:
    function: str
    number: int
    digest: str
    runtime: str  # python | container
    # The stored revision config: valid gaia.yaml (see gateway.config.RevisionConfig).
    config: Mapping[str, object]
    settings: InstanceSettings
    # The function container's image, as a cluster pulls it.
    image: str
    # A container function's argv (its `command`, else its image's Entrypoint and Cmd);
    # None for a Python function, which the gaia image runs.
    command: tuple[str, ...] | None = None
    # The code mounted in the pod (a gzip tarball), or None when there is none to mount.
    code: bytes | None = None
    triggers: tuple[Trigger, ...] = ()
    # Aliases the gateway's gaia.yaml defines for the function (beside `default`).
    aliases: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.function}@{self.number}"


@dataclass(frozen=True, kw_only=True)
class Images:
    """The images of gaia's own containers (the function container's is per revision)."""

    gaia: str
    logs: str
    metrics: str
    tools: str


@dataclass(frozen=True, kw_only=True)
class Options:
    namespace: str = "default"
    # Pods per revision.
    replicas: int = 1
    # The function container's CPU request (no limit: gaia sets none either).
    cpu: str = "100m"
    images: Images
    # Extra environment of the gateway's container (a shared store, for instance).
    gateway_env: Mapping[str, str] = field(default_factory=dict)
