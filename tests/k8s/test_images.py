"""The image a container function's pod runs, named as the archive names itself (built
in the test as a user builds one: busybox-static, podman import, podman save)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway import bundles
from k8s import images
from k8s.errors import RenderError
from k8s.selection import Choice
from k8s.source import revision
from runtime_adapters.container.settings import image_ref
from tests.runtime_adapters.container.images import FORMATS, TRANSPORT, Podman

NAME = "localhost/gaia-test/site:1"
ARGV = ("/bin/sh", "-c", "exec httpd -f -p $PORT -h .")  # the image's Entrypoint + Cmd


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("images")
    with Podman(root / "podman") as podman:
        podman.build(NAME)
        yield {fmt: podman.save(NAME, fmt, root / fmt) for fmt in FORMATS}


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_an_archive_gives_its_own_name_and_command(saved: dict[str, Path], fmt: str) -> None:
    path = saved[fmt]
    ref = image_ref(f"{TRANSPORT[fmt]}:{path.name}")
    found = images.read_archive(path.parent, ref)
    assert found == images.ArchiveImage(name=NAME, argv=ARGV)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("localhost/gaia-test/site:1", True),
        ("busybox:1.36", True),
        ("registry.example.com:5000/team/app", True),
        ("1", False),  # `skopeo copy ... oci-archive:x.tar:1` records the tag alone
        ("latest", False),
        ("Upper/Case:1", False),
    ],
)
def test_what_counts_as_an_image_name(text: str, valid: bool) -> None:
    assert images.is_image_name(text) is valid


@pytest.mark.parametrize(
    ("own", "registry", "pulled"),
    [
        (NAME, None, NAME),
        (NAME, "registry.example.com/team", "registry.example.com/team/gaia-test/site:1"),
        ("docker.io/library/nginx:1", "r.example.com/", "r.example.com/library/nginx:1"),
        ("shop/site:2", "r.example.com:5000", "r.example.com:5000/shop/site:2"),
    ],
)
def test_the_cluster_pulls_its_own_name_or_the_same_under_a_registry(
    own: str, registry: str | None, pulled: str
) -> None:
    ref = image_ref("oci-archive:image.tar")
    assert images.cluster_name("site@1", ref, own, registry=registry) == pulled


def test_an_image_without_a_name_needs_one_given() -> None:
    with pytest.raises(RenderError) as caught:
        images.cluster_name("site@1", image_ref("oci:image"), None, registry="r.example.com")
    assert caught.value.message == (
        "site@1: its image oci:image records no name of its own: give --image site=REF"
        " (REF as the cluster pulls it)"
    )


def _bundle(tmp_path: Path, files: dict[str, Path | bytes]) -> bytes:
    code = tmp_path / "code"
    code.mkdir(parents=True)
    for name, content in files.items():
        target = code / name
        target.write_bytes(content.read_bytes() if isinstance(content, Path) else content)
    return bundles.pack(code)


def _choice() -> Choice:
    return Choice(function="site", revision=1, triggers=(), aliases=(), left_out=())


def _view(**config: object) -> dict[str, object]:
    return {"digest": "cd" * 32, "config": {"runtime": "container", **config}}


def test_a_container_function_runs_its_image_with_the_code_beside_it(
    saved: dict[str, Path], tmp_path: Path
) -> None:
    code = _bundle(tmp_path, {"image.tar": saved["oci-archive"], "notes.txt": b"x"})
    built = revision(
        _choice(),
        _view(image="oci-archive:image.tar"),
        code,
        explicit_image=None,
        registry="registry.example.com",
        gaia_image="gaia:1",
    )
    assert built.image == "registry.example.com/gaia-test/site:1"
    assert built.command == ARGV
    # The code is mounted without the image, which the cluster pulls instead.
    assert built.code is not None
    with tarfile.open(fileobj=io.BytesIO(built.code)) as tar:
        assert tar.getnames() == ["notes.txt"]
    # Its own command wins over the image's; an explicit image over the archive's name.
    built = revision(
        _choice(),
        _view(image="oci-archive:image.tar", command=["httpd", "-f"]),
        _bundle(tmp_path / "b", {"image.tar": saved["oci-archive"]}),
        explicit_image="r.example.com/site@sha256:" + "0" * 64,
        registry=None,
        gaia_image="gaia:1",
    )
    assert (built.image, built.command, built.code) == (
        "r.example.com/site@sha256:" + "0" * 64,
        ("httpd", "-f"),
        None,
    )


@pytest.mark.parametrize(
    ("config", "explicit", "message"),
    [
        (
            {"command": ["node", "server.js"]},
            None,
            "site@1 runs on the host's system directories (it has no image:), which a cluster"
            " has not: give --image site=REF, an image holding what its command runs",
        ),
        (
            {"image": "oci-archive:/srv/images/site.tar"},
            "r.example.com/site:1",
            "site@1: the command in its image oci-archive:/srv/images/site.tar is not known"
            " here (an image outside the code is read on the gateway's host, and one without"
            " Entrypoint and Cmd has none): give the function a command",
        ),
    ],
)
def test_what_cannot_be_known_here_is_an_error(
    tmp_path: Path, config: dict[str, object], explicit: str | None, message: str
) -> None:
    with pytest.raises(RenderError) as caught:
        revision(
            _choice(),
            _view(**config),
            _bundle(tmp_path, {"server.js": b"x"}),
            explicit_image=explicit,
            registry=None,
            gaia_image="gaia:1",
        )
    assert caught.value.message == message
