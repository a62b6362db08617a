"""OCI images as root filesystems: copied with skopeo (which checks every blob against
its digest), checked again here (manifest and config), unpacked with umoci, and cached
under the manifest's digest so each image is unpacked once per GAIA_HOME.

The cache entry `<root>/<hex digest>/` is umoci's runtime bundle: `rootfs/` and
`config.json`, whose `process` already applies the image's Entrypoint, Cmd, Env and
WorkingDir (umoci follows the OCI image spec's conversion rules).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TAG = "gaia"
# Unpacking a large image can take a while, but never forever.
TOOL_TIMEOUT_S = 300.0


class ImageError(Exception):
    """The image cannot be used; the message says which image and why."""


@dataclass(frozen=True, kw_only=True)
class Image:
    digest: str  # sha256:... of the OCI manifest
    rootfs: Path
    args: tuple[str, ...]  # Entrypoint + Cmd
    env: dict[str, str]
    working_dir: str


class ImageCache:
    def __init__(self, root: Path) -> None:
        self.root = root

    async def get(self, source: str) -> Image:
        """The unpacked image skopeo reads as `source` (`oci-archive:/path`)."""
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            layout = staging / "layout"
            await _run(
                source, "skopeo", "--insecure-policy", "copy", "--quiet", source,
                f"oci:{layout}:{TAG}",
            )  # fmt: skip
            digest = await asyncio.to_thread(_verified_manifest, layout, source)
            final = self.root / digest.removeprefix("sha256:")
            if not (final / "config.json").is_file():
                bundle = staging / "bundle"
                await _run(
                    source, "umoci", "unpack", "--rootless", "--image", f"{layout}:{TAG}",
                    str(bundle),
                )  # fmt: skip
                try:
                    bundle.rename(final)  # atomic: never a half-unpacked entry
                except OSError:
                    if not (final / "config.json").is_file():
                        raise
                    # a concurrent warm-up of the same image got there first
            return _image(digest, final)
        finally:
            await asyncio.to_thread(shutil.rmtree, staging, True)


async def _run(source: str, *argv: str) -> None:
    try:
        process = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise ImageError(
            f"image {source}: {argv[0]} is not installed (Debian package {argv[0]})"
        ) from None
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), TOOL_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise ImageError(
            f"image {source}: {argv[0]} took longer than {TOOL_TIMEOUT_S:g}s"
        ) from None
    if process.returncode != 0:
        said = stderr.decode(errors="replace").strip().splitlines()
        raise ImageError(
            f"image {source}: {argv[0]} failed: {said[-1] if said else process.returncode}"
        )


def _last_words(stderr: bytes) -> str:
    """The error a tool ended with; skopeo logs it as `level=fatal msg="..."`."""
    lines = stderr.decode(errors="replace").strip().splitlines()
    last = lines[-1] if lines else "no message"
    _, found, message = last.partition(' msg="')
    return message.removesuffix('"').replace('\\"', '"') if found else last


def _verified_manifest(layout: Path, source: str) -> str:
    """The manifest digest of the layout's one image, after checking that the manifest
    and the config blob hash to the digests that name them."""
    index = _json(layout / "index.json", source)
    manifests = index.get("manifests") or []
    if len(manifests) != 1:
        raise ImageError(f"image {source}: expected one image, found {len(manifests)}")
    digest = str(manifests[0].get("digest", ""))
    manifest = json.loads(_blob(layout, digest, source))
    _blob(layout, str(manifest.get("config", {}).get("digest", "")), source)
    return digest


def _blob(layout: Path, digest: str, source: str) -> bytes:
    algorithm, _, hexdigest = digest.partition(":")
    if algorithm != "sha256" or len(hexdigest) != 64:
        raise ImageError(f"image {source}: unsupported digest {digest!r}")
    data = (layout / "blobs" / algorithm / hexdigest).read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if actual != hexdigest:
        raise ImageError(
            f"image {source}: digest does not match: expected {digest}, got sha256:{actual}"
        )
    return data


def _json(path: Path, source: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ImageError(f"image {source}: cannot read {path.name}: {exc}") from exc
    if not isinstance(data, dict):
        raise ImageError(f"image {source}: {path.name} is not a JSON object")
    return data


def _image(digest: str, bundle: Path) -> Image:
    process = _json(bundle / "config.json", digest).get("process", {})
    env: dict[str, str] = {}
    for entry in process.get("env", []):
        name, _, value = str(entry).partition("=")
        env[name] = value
    return Image(
        digest=digest,
        rootfs=bundle / "rootfs",
        args=tuple(str(arg) for arg in process.get("args", [])),
        env=env,
        working_dir=str(process.get("cwd") or "/"),
    )
