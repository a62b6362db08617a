from __future__ import annotations

import os
from pathlib import Path

import pytest

from gateway import bundles
from gateway.errors import InvalidInput


def _code(root: Path, text: str = "def handler(e, c):\n    return 1\n") -> Path:
    (root / "pkg").mkdir(parents=True)
    (root / "main.py").write_text(text)
    (root / "pkg" / "util.py").write_text("X = 1\n")
    return root


def test_digest_covers_code_and_config_but_not_caches(tmp_path: Path) -> None:
    code = _code(tmp_path / "a")
    base = bundles.digest(code, {"handler": "main.handler"})
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"\0junk")
    assert bundles.digest(code, {"handler": "main.handler"}) == base
    assert bundles.digest(code, {"handler": "main.other"}) != base
    (code / "pkg" / "util.py").write_text("X = 2\n")
    assert bundles.digest(code, {"handler": "main.handler"}) != base


def test_pack_unpack_round_trip_keeps_the_digest(tmp_path: Path) -> None:
    code = _code(tmp_path / "a")
    target = tmp_path / "b"
    target.mkdir()
    bundles.unpack(bundles.pack(code), target)
    assert bundles.digest(target, {}) == bundles.digest(code, {})


def test_stored_bundles_are_read_only_and_written_once(tmp_path: Path) -> None:
    store = bundles.BundleStore(tmp_path / "bundles")
    code = _code(tmp_path / "a")
    path = store.put(code, "abc")
    assert not os.access(path / "main.py", os.W_OK) or os.geteuid() == 0
    assert (path / "main.py").stat().st_mode & 0o222 == 0
    (code / "main.py").write_text("changed")
    assert store.put(code, "abc") == path
    assert "changed" not in (path / "main.py").read_text()


def test_links_and_garbage_uploads_are_refused(tmp_path: Path) -> None:
    code = _code(tmp_path / "a")
    (code / "link.py").symlink_to("/etc/passwd")
    with pytest.raises(InvalidInput, match=r"link\.py"):
        bundles.digest(code, {})
    with pytest.raises(InvalidInput, match="not a valid tar archive"):
        bundles.unpack(b"not a tarball", tmp_path)
    with pytest.raises(InvalidInput, match="does not exist"):
        bundles.digest(tmp_path / "missing", {})
