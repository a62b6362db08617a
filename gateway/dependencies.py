"""A function's requirements.txt, installed once per distinct file and reused after.

Installs land in `<root>/<sha256 of the file and the interpreter>/`; a revision's bundle
then gets them as `.deps/` beside its code (hard links, so a cached install costs no
copy). Workers put `/code/.deps` on sys.path after the code itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import sys
import tempfile
from pathlib import Path

from gateway.errors import PublishFailed

REQUIREMENTS = "requirements.txt"
# Long enough for a real install over the network, bounded so a publish cannot hang.
INSTALL_TIMEOUT_S = 600.0


def requirements_of(code_dir: Path | None) -> bytes | None:
    if code_dir is None:
        return None
    path = code_dir / REQUIREMENTS
    return path.read_bytes() if path.is_file() else None


def cache_key(requirements: bytes) -> str:
    # The interpreter is part of the key: wheels built for one Python do not load in another.
    hasher = hashlib.sha256(requirements)
    hasher.update(f"\0{sys.implementation.cache_tag}\0{sys.platform}".encode())
    return hasher.hexdigest()


class DependencyCache:
    def __init__(self, root: Path) -> None:
        self.root = root
        self._locks: dict[str, asyncio.Lock] = {}

    async def ensure(self, requirements: bytes) -> tuple[Path, bool]:
        """The installed directory for these requirements, and whether it was cached."""
        key = cache_key(requirements)
        final = self.root / key
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            if final.is_dir():
                return final, True
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=".install-", dir=self.root))
            try:
                await _pip_install(requirements, staging)
                _promote(staging, final)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            return final, False


async def _pip_install(requirements: bytes, target: Path) -> None:
    file = target.parent / f"{target.name}.txt"
    file.write_bytes(requirements)
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-input",
            "--disable-pip-version-check",
            "--target",
            str(target),
            "--requirement",
            str(file),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            output, _ = await asyncio.wait_for(process.communicate(), INSTALL_TIMEOUT_S)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise PublishFailed(
                f"installing {REQUIREMENTS} took longer than {INSTALL_TIMEOUT_S:.0f}s",
                field="code",
            ) from None
    finally:
        file.unlink(missing_ok=True)
    if process.returncode != 0:
        text = output.decode(errors="replace").strip()
        raise PublishFailed(f"pip could not install {REQUIREMENTS}:\n{text}", field="code")


def _promote(staging: Path, final: Path) -> None:
    staging.rename(final)  # atomic: a crash mid-install leaves no half-filled cache entry
