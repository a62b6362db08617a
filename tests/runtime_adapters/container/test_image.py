"""busybox httpd from an OCI image built in the test: each archive format podman
writes, the image's Entrypoint, Cmd, Env and WorkingDir honoured, unpacked once per
digest, and a tampered image refused."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime_adapters.base import WarmupError
from runtime_adapters.container.runtime import ContainerRuntime
from tests.runtime_adapters.container.conftest import container_spec
from tests.runtime_adapters.container.images import (
    FORMATS,
    INDEX,
    TRANSPORT,
    Podman,
    manifest_digest,
    tamper_first_layer,
)
from tests.runtime_adapters.python.conftest import http

IMAGE = "localhost/gaia-test/busybox:1"


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Podman]:
    with Podman(tmp_path_factory.mktemp("podman")) as built:
        built.build(IMAGE)
        yield built


@pytest.mark.parametrize("fmt", sorted(FORMATS))
async def test_busybox_httpd_runs_from_each_image_format(
    runtime: ContainerRuntime, podman: Podman, tmp_path: Path, fmt: str
) -> None:
    code = tmp_path / "code"
    saved = podman.save(IMAGE, fmt, code)
    # A relative path is inside the code directory: the image is bundled with the code.
    spec = container_spec(code, image=f"{TRANSPORT[fmt]}:{saved.name}", readiness="/index.html")
    await runtime.warm(spec)
    page = await runtime.invoke(spec.key, http("/index.html"))
    assert (page.status, page.body) == (200, INDEX)
    cgi = await runtime.invoke(spec.key, http("/cgi-bin/env"))
    assert cgi.status == 200
    assert cgi.body.decode().strip() == f"greeting=from-image code={saved.name}"


async def test_the_function_env_and_command_override_the_image(
    runtime: ContainerRuntime, podman: Podman, tmp_path: Path
) -> None:
    saved = podman.save(IMAGE, "oci-archive", tmp_path)
    spec = container_spec(
        tmp_path,
        image=f"oci-archive:{saved}",  # an absolute path, on the gateway's host
        command=["/bin/sh", "-c", "cd /www && exec httpd -f -p $PORT -h ."],
        env={"GREETING": "from-function"},
    )
    await runtime.warm(spec)
    cgi = await runtime.invoke(spec.key, http("/cgi-bin/env"))
    assert cgi.body.decode().startswith("greeting=from-function code=")


async def test_an_image_is_unpacked_once_and_cached_by_its_digest(
    runtime: ContainerRuntime, podman: Podman, tmp_path: Path
) -> None:
    saved = podman.save(IMAGE, "oci-dir", tmp_path / "code")
    first = container_spec(tmp_path / "code", image="oci:image", revision=1)
    second = container_spec(tmp_path / "code", image="oci:image", revision=2, concurrency=2)
    await runtime.warm(first)
    entry = runtime.images.root / manifest_digest(saved).removeprefix("sha256:")
    unpacked_at = (entry / "config.json").stat().st_mtime_ns
    await runtime.warm(second)
    assert [p.name for p in runtime.images.root.iterdir()] == [entry.name]
    assert (entry / "config.json").stat().st_mtime_ns == unpacked_at
    assert (await runtime.invoke(second.key, http("/index.html"))).body == INDEX


async def test_an_image_whose_digest_does_not_match_is_refused(
    runtime: ContainerRuntime, podman: Podman, tmp_path: Path
) -> None:
    saved = podman.save(IMAGE, "oci-dir", tmp_path / "code")
    layer = tamper_first_layer(saved)
    spec = container_spec(tmp_path / "code", image="oci:image")
    with pytest.raises(WarmupError) as info:
        await runtime.warm(spec)
    message = info.value.message
    assert message.startswith(f"box@1: image oci:{saved}: skopeo failed: ")
    assert f"Digest did not match, expected {layer}, got sha256:" in message
    assert runtime.status() == []
    assert not [p for p in runtime.images.root.iterdir()]  # nothing cached, nothing left


async def test_a_missing_image_is_a_warm_up_error(
    runtime: ContainerRuntime, tmp_path: Path
) -> None:
    spec = container_spec(tmp_path, image="oci-archive:missing.tar")
    with pytest.raises(WarmupError) as info:
        await runtime.warm(spec)
    assert info.value.message.startswith(f"box@1: image oci-archive:{tmp_path}/missing.tar: ")
