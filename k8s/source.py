"""A chosen revision, its stored config and its code (from the admin API) turned into
what the builders take: its settings, the image its container runs and the command in
it, and the code to mount."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from gateway import bundles
from gateway.config import RevisionConfig
from gateway.errors import InvalidInput
from k8s import images
from k8s.errors import RenderError
from k8s.model import Revision
from k8s.selection import Choice
from runtime_adapters.container.settings import ContainerSettings
from runtime_adapters.settings import InstanceSettings


def revision(
    choice: Choice,
    view: Mapping[str, Any],
    code: bytes,
    *,
    explicit_image: str | None,
    registry: str | None,
    gaia_image: str,
) -> Revision:
    label = f"{choice.function}@{choice.revision}"
    config = dict(view["config"])
    parsed = RevisionConfig.from_dict(config, file=f"{label}'s config")
    settings = parsed.settings
    if not isinstance(settings, InstanceSettings):
        raise RenderError(
            f"{label} runs on runtime {parsed.runtime}, whose endpoints run elsewhere:"
            " there is nothing of it to run on the cluster"
        )
    common: dict[str, Any] = {
        "function": choice.function,
        "number": choice.revision,
        "digest": str(view["digest"]),
        "runtime": parsed.runtime,
        "config": config,
        "settings": settings,
        "triggers": choice.triggers,
        "aliases": choice.aliases,
    }
    if not isinstance(settings, ContainerSettings):
        if explicit_image is not None:
            raise RenderError(
                f"{label}: --image is for container functions; a Python function runs on"
                " the gaia image (--gaia-image)"
            )
        beyond_http = sorted({t.kind for t in choice.triggers if t.kind != "http"})
        if beyond_http:
            raise RenderError(
                f"{label}: a Python function on the cluster answers HTTP only (its pod serves"
                f" it through gaia's data plane), but it has {', '.join(beyond_http)} triggers"
            )
        return Revision(**common, image=gaia_image, code=code)
    with tempfile.TemporaryDirectory(prefix="gaia-k8s-") as scratch:
        code_dir = Path(scratch)
        try:
            bundles.unpack(code, code_dir)
        except InvalidInput as exc:
            raise RenderError(f"{label}: {exc.message}") from None
        image, argv = _image_and_command(label, settings, code_dir, explicit_image, registry)
        if settings.image is not None and not PurePosixPath(settings.image.path).is_absolute():
            _remove(code_dir / settings.image.path)
        mounted = bundles.pack(code_dir) if any(bundles.iter_files(code_dir)) else None
    return Revision(**common, image=image, command=argv, code=mounted)


def _image_and_command(
    label: str,
    settings: ContainerSettings,
    code_dir: Path,
    explicit: str | None,
    registry: str | None,
) -> tuple[str, tuple[str, ...]]:
    function = label.partition("@")[0]
    if settings.image is None:
        if explicit is None:
            raise RenderError(
                f"{label} runs on the host's system directories (it has no image:), which a"
                f" cluster has not: give --image {function}=REF, an image holding what its"
                " command runs"
            )
        assert settings.command is not None  # the settings model requires one of the two
        return explicit, settings.command
    if PurePosixPath(settings.image.path).is_absolute():
        # Read on the gateway's host when the revision warms: not here.
        archive = images.ArchiveImage(name=None, argv=())
    else:
        archive = images.read_archive(code_dir, settings.image)
    argv = settings.command or archive.argv
    if not argv:
        raise RenderError(
            f"{label}: the command in its image {settings.image} is not known here (an image"
            " outside the code is read on the gateway's host, and one without Entrypoint and"
            " Cmd has none): give the function a command"
        )
    name = explicit or images.cluster_name(label, settings.image, archive.name, registry=registry)
    return name, argv


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()
