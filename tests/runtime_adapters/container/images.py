"""Images built in the test, as a user would: a busybox-static root filesystem tarred,
`podman import`ed with an image config, then `podman save`d in each format gaia
reads. podman keeps its store in the test's directory."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from tests.runtime_adapters.container.conftest import require

# ENTRYPOINT and CMD together make the command, the PORT is expanded by the shell, and
# `-h .` serves the WORKDIR: each of Entrypoint, Cmd, Env and WorkingDir matters.
CHANGES = (
    'ENTRYPOINT ["/bin/sh", "-c"]',
    'CMD ["exec httpd -f -p $PORT -h ."]',
    "WORKDIR /www",
    "ENV GREETING=from-image",
)
INDEX = b"<p>busybox in an image</p>\n"
# busybox httpd runs CGI scripts (in their own directory) with its environment. It
# passes a script's header lines through as written, so they end in CRLF here: gaia's
# HTTP client (llhttp) refuses header lines ending in a bare LF.
CGI = b"""#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "greeting=$GREETING code=$(ls /code)"
"""
FORMATS = {"oci-archive": "image.tar", "docker-archive": "image.tar", "oci-dir": "image"}
TRANSPORT = {"oci-archive": "oci-archive", "docker-archive": "docker-archive", "oci-dir": "oci"}


def rootfs_tar() -> bytes:
    """A root filesystem of busybox-static alone, with a page and a CGI script."""
    busybox = shutil.which("busybox") or "/bin/busybox"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(busybox, arcname="bin/busybox")
        for applet in ("sh", "httpd", "ls", "echo"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        for name, data, mode in (
            ("www/index.html", INDEX, 0o644),
            ("www/cgi-bin/env", CGI, 0o755),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class Podman:
    def __init__(self, root: Path) -> None:
        require("podman", "busybox", "skopeo", "umoci")
        # podman refuses a runroot longer than 50 characters, which a pytest tmp dir is.
        self._runroot = Path(tempfile.mkdtemp(prefix="gaia-podman-"))
        self._base = [
            "podman", "--root", str(root / "storage"), "--runroot", str(self._runroot),
            "--storage-driver", "vfs",
        ]  # fmt: skip
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    def __enter__(self) -> Podman:
        return self

    def __exit__(self, *exc: object) -> None:
        shutil.rmtree(self._runroot, ignore_errors=True)

    def build(self, name: str) -> None:
        tarball = self._root / "rootfs.tar"
        tarball.write_bytes(rootfs_tar())
        changes = [arg for change in CHANGES for arg in ("--change", change)]
        self._run("import", *changes, str(tarball), name)

    def save(self, name: str, fmt: str, into: Path) -> Path:
        """The image saved as `fmt` inside `into`; returns its path."""
        into.mkdir(parents=True, exist_ok=True)
        target = into / FORMATS[fmt]
        self._run("save", "--format", fmt, "-o", str(target), name)
        return target

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._base, *args], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"podman {args[0]} failed: {done.stderr}"


def manifest_digest(oci_dir: Path) -> str:
    index = json.loads((oci_dir / "index.json").read_text())
    return str(index["manifests"][0]["digest"])


def tamper_first_layer(oci_dir: Path) -> str:
    """Flip a byte of the image's first layer blob; returns the digest naming it."""
    digest = manifest_digest(oci_dir).removeprefix("sha256:")
    manifest = json.loads((oci_dir / "blobs" / "sha256" / digest).read_text())
    layer = str(manifest["layers"][0]["digest"])
    blob = oci_dir / "blobs" / "sha256" / layer.removeprefix("sha256:")
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.chmod(0o644)
    blob.write_bytes(bytes(data))
    return layer
