"""Revision bundles: a function's code, frozen under GAIA_HOME by content digest.

A bundle directory is named by the sha256 of its files and the revision's config, so
publishing the same code and config twice finds the bundle already there, and a
bundle, once written, is never modified (files are made read-only).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import tarfile
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from pathlib import Path

from gateway.errors import InvalidInput
from runtime_adapters.files import DEPS_DIR, link_or_copy

# Build products and VCS data would make identical sources hash differently.
_SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".mypy_cache", ".pytest_cache"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


def iter_files(root: Path | None) -> Iterator[tuple[str, Path]]:
    """Yield (posix relative path, absolute path) of every file, sorted, skipping caches;
    none for a function without code (its runtime runs none here)."""
    if root is None:
        return
    if not root.is_dir():
        raise InvalidInput(f"code directory {str(root)!r} does not exist", field="code")
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        for name in sorted(filenames):
            if name.endswith(_SKIPPED_SUFFIXES):
                continue
            path = Path(dirpath, name)
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode) or not stat.S_ISREG(mode):
                rel = path.relative_to(root).as_posix()
                raise InvalidInput(
                    f"{rel!r} in the code directory is not a regular file (links and devices "
                    "are not bundled)",
                    field="code",
                )
            yield path.relative_to(root).as_posix(), path


def digest(code_dir: Path | None, revision_config: Mapping[str, object]) -> str:
    """sha256 of every file's path and bytes, then the canonical revision config."""
    hasher = hashlib.sha256()
    for rel, path in iter_files(code_dir):
        data = path.read_bytes()
        hasher.update(f"{rel}\0{len(data)}\0".encode())
        hasher.update(data)
    hasher.update(json.dumps(revision_config, sort_keys=True, separators=(",", ":")).encode())
    return hasher.hexdigest()


def pack(code_dir: Path, *, without: Collection[str] = ()) -> bytes:
    """A gzip tarball of the code directory, as the CLI uploads it; `without` names
    top-level entries left out (a stored bundle's installed requirements). The same
    files give the same bytes: no times or owners are recorded, so a manifest that
    carries a bundle (gaia k8s render) changes only when the code does."""
    buffer = io.BytesIO()
    total = 0
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for rel, path in iter_files(code_dir):
            if rel.split("/", 1)[0] in without:
                continue
            total += path.stat().st_size
            if total > MAX_BUNDLE_BYTES:
                raise InvalidInput(
                    f"code directory is larger than {MAX_BUNDLE_BYTES // 2**20} MiB", field="code"
                )
            info = tar.gettarinfo(path, arcname=rel)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            with path.open("rb") as data:
                tar.addfile(info, data)
    return buffer.getvalue()


def unpack(data: bytes, into: Path) -> None:
    """Extract an uploaded tarball, accepting only plain files and directories inside it."""
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise InvalidInput(f"code bundle is not a valid tar archive: {exc}", field="code") from exc


def archive(bundle_dir: Path) -> bytes:
    """A stored bundle, its installed requirements (`.deps/`) included, as a gzip
    tarball: how a shared store carries it to gateways that did not publish it."""
    buffer = io.BytesIO()
    # Level 1: bundles are mostly already-compressed wheels' contents and small sources;
    # the time saved matters more than the bytes.
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as tar:
        for entry in sorted(bundle_dir.iterdir()):
            tar.add(entry, arcname=entry.name)
    return buffer.getvalue()


class BundleStore:
    """Immutable bundles under `<root>/<digest>/`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, bundle_digest: str) -> Path:
        return self.root / bundle_digest

    def code(self, bundle_digest: str) -> bytes:
        """A stored bundle's code as it was published: without its installed requirements,
        which a gateway installs again from requirements.txt."""
        return pack(self.path(bundle_digest), without=(DEPS_DIR,))

    def remove(self, bundle_digest: str) -> None:
        shutil.rmtree(self.path(bundle_digest), ignore_errors=True)

    def put_archive(self, bundle_digest: str, data: bytes) -> Path:
        """Store a bundle `archive` made, unless that digest is already here."""

        def fill(staging: Path) -> None:
            unpack(data, staging)
            for directory, _, names in os.walk(staging):
                if Path(directory).relative_to(staging).parts[:1] == (DEPS_DIR,):
                    continue
                for name in names:
                    Path(directory, name).chmod(0o444)

        return self._staged(self.path(bundle_digest), fill)

    def put(self, code_dir: Path | None, bundle_digest: str, *, deps: Path | None = None) -> Path:
        """Copy the code in unless that digest is already stored; return its path.

        `deps`, an installed requirements directory, is linked in as `.deps/`.
        """

        def fill(staging: Path) -> None:
            for rel, source in iter_files(code_dir):
                target = staging / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
                target.chmod(0o444)
            if deps is not None:
                shutil.copytree(deps, staging / DEPS_DIR, symlinks=True, copy_function=link_or_copy)

        return self._staged(self.path(bundle_digest), fill)

    def _staged(self, final: Path, fill: Callable[[Path], None]) -> Path:
        """Fill a staging directory, then rename it to `final`: rename is atomic, so a
        crash leaves a staging dir, never a half bundle."""
        if final.is_dir():
            return final
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.root))
        try:
            fill(staging)
            staging.rename(final)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if final.is_dir():  # a concurrent publish of the same digest won the race
                return final
            raise
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        return final
