"""A container function's revision settings (gaia.yaml beside `code:`, `runtime:
container`): `command`, `image`, `readiness`, and every instance runtime's keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import field_serializer, field_validator, model_validator

from configkit.issues import issue
from configkit.leaves import durations, optional, parsed
from configkit.model import ConfigModel, key
from configkit.words import describe
from runtime_adapters.base import RevisionSpec
from runtime_adapters.settings import MAX_TIMEOUT_S, InstanceSettings, url_path

Transport = Literal["oci-archive", "docker-archive", "oci"]
TRANSPORTS: tuple[Transport, ...] = ("oci-archive", "docker-archive", "oci")
# How long an instance may take to start serving unless `readiness.timeout` says.
READY_TIMEOUT_S = 30.0


@dataclass(frozen=True, kw_only=True)
class ImageRef:
    """`oci-archive:PATH`: a relative PATH is inside the code directory (bundled with
    the revision), an absolute one is on the gateway's host."""

    transport: Transport
    path: str

    def __str__(self) -> str:
        return f"{self.transport}:{self.path}"

    def source(self, bundle_dir: Path) -> str:
        """The reference as skopeo reads it, the path resolved."""
        return f"{self.transport}:{bundle_dir / self.path}"


def image_ref(raw: object) -> ImageRef:
    expected = "expected oci-archive:PATH, docker-archive:PATH or oci:DIR"
    if isinstance(raw, ImageRef):
        return raw
    if not isinstance(raw, str):
        raise ValueError(f"{expected}, got {describe(raw)}")
    transport, _, path = raw.partition(":")
    for known in TRANSPORTS:
        if transport == known:
            if not path:
                raise ValueError(f"{expected}, got {raw!r} with no path")
            return ImageRef(transport=known, path=path)
    raise ValueError(f"{expected}, got {raw!r}")


def _command(raw: object) -> tuple[str, ...]:
    if isinstance(raw, list | tuple) and raw and all(isinstance(a, str) and a for a in raw):
        return tuple(raw)
    raise ValueError(
        f"expected a list of non-empty strings like [node, server.js], got {describe(raw)}"
    )


class Readiness(ConfigModel):
    """`readiness: /healthz` or `{path, timeout}`: ready once GET path answers 2xx or
    3xx (no path: once the port accepts connections), within `timeout`."""

    path: Annotated[str | None, parsed(optional(url_path))] = None
    timeout_s: Annotated[float, parsed(durations(MAX_TIMEOUT_S))] = key(
        "timeout", default=READY_TIMEOUT_S
    )


class ContainerSettings(InstanceSettings):
    command: Annotated[tuple[str, ...] | None, parsed(optional(_command))] = None
    image: Annotated[ImageRef | None, parsed(optional(image_ref))] = None
    readiness: Readiness = Readiness()

    @field_validator("readiness", mode="before")
    @classmethod
    def _path_alone(cls, raw: object) -> object:
        return {"path": raw} if isinstance(raw, str) else raw

    @model_validator(mode="after")
    def _something_to_run(self) -> Self:
        if self.command is None and self.image is None:
            raise issue(
                "command",
                "expected a command (a list like [node, server.js]) or an image to run",
            )
        return self

    @field_serializer("image")
    def _image_text(self, image: ImageRef | None) -> str | None:
        return None if image is None else str(image)

    def spec(self, *, function: str, revision: int, digest: str, bundle_dir: Path) -> RevisionSpec:
        return self.instance_spec(
            runtime="container",
            function=function,
            revision=revision,
            digest=digest,
            bundle_dir=bundle_dir,
        )
