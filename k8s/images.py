"""Which image a function container runs, and the command in it.

A Python function runs on the gaia image. A container function with `image:` runs that
image, named as the cluster pulls it: `--image FN=REF` if given, else the name the
archive records for itself (`podman save` writes it: org.opencontainers.image.ref.name
in an OCI index, RepoTags in a docker archive), moved to `--image-registry` if given.
Its command is the function's `command`, else the image's Entrypoint and Cmd, which the
archive's config holds (the log capture needs it, see capture). A container function
without `image:` runs on the host's system directories under gaia, which a cluster has
not: it needs `--image`, an image holding what its command runs.
"""

from __future__ import annotations

import json
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from k8s.errors import RenderError
from runtime_adapters.container.settings import ImageRef

VERSION = "0.1.0"
DEFAULT_GAIA = f"gaia:{VERSION}"
DEFAULT_LOGS = "fluent/fluent-bit:3.2"
DEFAULT_METRICS = "haproxy:3.0-alpine"
DEFAULT_TOOLS = "busybox:1.36-musl"

REF_NAME = "org.opencontainers.image.ref.name"
# A name a registry serves: [host[:port]/]path[:tag], or a tag alone, which is no name.
_NAME = re.compile(
    r"(?:[a-zA-Z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
)


@dataclass(frozen=True, kw_only=True)
class ArchiveImage:
    name: str | None  # its own name, if it records one that names an image
    argv: tuple[str, ...]  # Entrypoint followed by Cmd


def is_image_name(text: str) -> bool:
    return bool(_NAME.fullmatch(text)) and ("/" in text or ":" in text)


def without_registry(name: str) -> str:
    """`localhost/shop/site:1` → `shop/site:1`: the first part is a registry host when it
    has a dot or a port, or is localhost (Docker's rule)."""
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return rest
    return name


def cluster_name(label: str, image: ImageRef, own: str | None, *, registry: str | None) -> str:
    if own is None:
        raise RenderError(
            f"{label}: its image {image} records no name of its own: give --image"
            f" {label.partition('@')[0]}=REF (REF as the cluster pulls it)"
        )
    if registry:
        return f"{registry.rstrip('/')}/{without_registry(own)}"
    return own


def read_archive(code_dir: Path, image: ImageRef) -> ArchiveImage:
    """The name and command of an image inside a revision's code, as gaia reads it."""
    path = code_dir / image.path
    where = f"image {image}"
    try:
        if image.transport == "oci":
            return _oci(lambda name: (path / name).open("rb"), where)
        with tarfile.open(path) as archive:

            def member(name: str) -> IO[bytes]:
                found = archive.extractfile(name)
                if found is None:
                    raise KeyError(name)
                return found

            if image.transport == "docker-archive":
                return _docker(member, where)
            return _oci(member, where)
    except (OSError, KeyError, tarfile.TarError, ValueError) as exc:
        raise RenderError(f"{where}: cannot read it: {exc}") from None


def _json(opened: IO[bytes], where: str) -> Any:
    with opened:
        return json.loads(opened.read())


def _argv(config: dict[str, Any]) -> tuple[str, ...]:
    process = config.get("config") or {}
    return tuple(str(a) for a in (process.get("Entrypoint") or []) + (process.get("Cmd") or []))


def _oci(member: Callable[[str], IO[bytes]], where: str) -> ArchiveImage:
    index = _json(member("index.json"), where)
    manifests = index.get("manifests") or []
    if len(manifests) != 1:
        raise ValueError(f"expected one image, found {len(manifests)}")
    entry = manifests[0]
    manifest = _json(member(_blob(entry["digest"])), where)
    config = _json(member(_blob(manifest["config"]["digest"])), where)
    name = (entry.get("annotations") or {}).get(REF_NAME)
    return ArchiveImage(
        name=name if isinstance(name, str) and is_image_name(name) else None,
        argv=_argv(config),
    )


def _docker(member: Callable[[str], IO[bytes]], where: str) -> ArchiveImage:
    manifests = _json(member("manifest.json"), where)
    if len(manifests) != 1:
        raise ValueError(f"expected one image, found {len(manifests)}")
    config = _json(member(manifests[0]["Config"]), where)
    tags = [t for t in manifests[0].get("RepoTags") or [] if is_image_name(str(t))]
    return ArchiveImage(name=str(tags[0]) if tags else None, argv=_argv(config))


def _blob(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"
