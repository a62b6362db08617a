"""Revisions as the builders take them, made through gaia's own config models."""

from __future__ import annotations

import gzip
import io
import tarfile

from gateway.config import RevisionConfig
from k8s.images import DEFAULT_GAIA, DEFAULT_LOGS, DEFAULT_METRICS, DEFAULT_TOOLS
from k8s.model import Images, Options, Revision, Trigger
from runtime_adapters.settings import InstanceSettings

IMAGES = Images(gaia=DEFAULT_GAIA, logs=DEFAULT_LOGS, metrics=DEFAULT_METRICS, tools=DEFAULT_TOOLS)
OPTIONS = Options(images=IMAGES)


def code(*files: tuple[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w") as tar,
    ):
        for name, data in files:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def revision(
    function: str = "hello",
    number: int = 3,
    *,
    image: str = DEFAULT_GAIA,
    command: tuple[str, ...] | None = None,
    payload: bytes | None = None,
    triggers: tuple[Trigger, ...] = (Trigger(kind="http", spec={"path": "/hello/{name}"}),),
    aliases: tuple[str, ...] = (),
    config: dict[str, object] | None = None,
) -> Revision:
    """A Python function by default; `config` as gaia.yaml writes it (`runtime:
    container` and its keys for a container function)."""
    parsed = RevisionConfig.from_dict(config or {})
    assert isinstance(parsed.settings, InstanceSettings)
    if payload is None and parsed.runtime == "python":
        payload = code(("main.py", b"def handler(event, context):\n    return 'hi'\n"))
    return Revision(
        function=function,
        number=number,
        digest="ab" * 32,
        runtime=parsed.runtime,
        config=parsed.to_dict(),
        settings=parsed.settings,
        image=image,
        command=command,
        code=payload,
        triggers=triggers,
        aliases=aliases,
    )


def container(
    function: str = "site",
    number: int = 1,
    *,
    files: tuple[tuple[str, bytes], ...] = (("notes.txt", b"x"),),
    **config: object,
) -> Revision:
    """A container function from an image archive, with `files` of code beside it."""
    return revision(
        function,
        number,
        image=f"registry.example.com/{function}:1",
        command=("/bin/sh", "-c", "exec httpd -f -p $PORT"),
        payload=code(*files) if files else None,
        triggers=(Trigger(kind="http", spec={"path": f"/{function}"}),),
        config={
            "runtime": "container",
            "image": "oci-archive:image.tar",
            "memory": "96Mi",
            "concurrency": 3,
            **config,
        },
    )
