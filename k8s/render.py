"""One run: the files of every revision and of the gateway, all rendered in memory
before anything is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from k8s import names
from k8s.dump import yaml_text
from k8s.gateway import gateway_document, gateway_objects
from k8s.model import Options, Revision
from k8s.revision import revision_objects

GATEWAY_FILE = "gateway.yaml"


@dataclass(frozen=True, kw_only=True)
class File:
    name: str
    manifests: tuple[dict[str, object], ...]

    @property
    def text(self) -> str:
        return yaml_text(self.manifests)


def render(revisions: Sequence[Revision], options: Options) -> tuple[File, ...]:
    files = [
        File(
            name=names.revision_name(r.function, r.number) + ".yaml",
            manifests=tuple(revision_objects(r, options)),
        )
        for r in revisions
    ]
    document = yaml_text([gateway_document(revisions, namespace=options.namespace)])
    gateway = gateway_objects(
        document,
        namespace=options.namespace,
        image=options.images.gaia,
        env=options.gateway_env,
    )
    files.append(File(name=GATEWAY_FILE, manifests=tuple(gateway)))
    return tuple(files)
