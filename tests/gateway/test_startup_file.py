"""The file a gateway starts with, over the in-memory store and runtime: applied when the
store has not applied it at a start before, left alone (API changes kept) when it has.
tests/integration/test_startup_file.py runs real gateways on Redis and SQLite."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from gateway.config import ConfigError, load_file
from gateway.control import ControlPlane
from gateway.startup_file import apply_at_start, file_digest
from gateway.store import MemoryStore
from routing.traffic import AliasSpec, TrafficTarget

FILE = """
functions:
  hello:
    code: ./hello
    handler: main.handler
    aliases:
      prod:
        traffic:
          - {revision: 1, percent: 100}
    triggers:
      - http: {path: /hello, alias: prod}
"""
CODE = "def handler(event, context):\n    return {}\n"
PINNED = AliasSpec(traffic=(TrafficTarget(revision=2, percent=100.0),))


def _write(tmp_path: Path, text: str = FILE, code: str = CODE) -> Path:
    (tmp_path / "hello").mkdir(exist_ok=True)
    (tmp_path / "hello" / "main.py").write_text(code)
    path = tmp_path / "gaia.yaml"
    path.write_text(text)
    return path


def _prod(control: ControlPlane) -> AliasSpec:
    return control.alias("hello", "prod").spec


async def _with_revision_2_pinned(control: ControlPlane, path: Path) -> None:
    """What an admin does between starts: publish revision 2, send prod all traffic."""
    config = load_file(path).functions["hello"]
    (path.parent / "v2").mkdir()
    (path.parent / "v2" / "main.py").write_text(CODE + "# two\n")
    await control.publish("hello", code_dir=path.parent / "v2", config=config)
    await control.set_alias("hello", "prod", PINNED)


async def _started_then_pinned(control: ControlPlane, tmp_path: Path) -> Path:
    """A first start with the file, then an admin's pin of revision 2; the file's path."""
    path = _write(tmp_path)
    assert await apply_at_start(control, path) is not None
    await _with_revision_2_pinned(control, path)
    return path


async def test_the_digest_covers_the_files_bytes_and_its_functions_code(tmp_path: Path) -> None:
    path = _write(tmp_path)
    first = file_digest(path, load_file(path))
    assert first == file_digest(path, load_file(path))
    assert len(first) == 64 and int(first, 16) >= 0
    assert first != hashlib.sha256(path.read_bytes()).hexdigest()  # the code is in it

    _write(tmp_path, FILE + "# a comment\n")
    commented = file_digest(path, load_file(path))
    _write(tmp_path, FILE, CODE + "# new code, same file\n")
    recoded = file_digest(path, load_file(path))
    assert len({first, commented, recoded}) == 3


async def test_a_start_with_the_file_applied_before_keeps_the_changes_made_since(
    control: ControlPlane, store: MemoryStore, tmp_path: Path
) -> None:
    path = _write(tmp_path)
    applied = await apply_at_start(control, path)
    assert applied is not None and [p.revision for p in applied] == [1]
    digest = file_digest(path, load_file(path))
    assert (await store.load()).startup_file == digest

    await _with_revision_2_pinned(control, path)
    version = control.state.version
    assert await apply_at_start(control, path) is None
    assert _prod(control) == PINNED
    assert control.state.version == version  # nothing written, not even the digest


async def test_a_changed_file_or_changed_code_applies_and_is_remembered(
    control: ControlPlane, store: MemoryStore, tmp_path: Path
) -> None:
    path = await _started_then_pinned(control, tmp_path)

    # The same file, new code beside it: a new release, applied, and the file's traffic
    # replaces the pin.
    _write(tmp_path, FILE, CODE + "# three\n")
    applied = await apply_at_start(control, path)
    assert applied is not None and [p.revision for p in applied] == [3]
    assert _prod(control).traffic[0].revision == 1
    assert (await store.load()).startup_file == file_digest(path, load_file(path))

    await control.set_alias("hello", "prod", PINNED)
    _write(
        tmp_path, FILE.replace("percent: 100}", "percent: 100, tag: stable}"), CODE + "# three\n"
    )
    applied = await apply_at_start(control, path)
    assert applied is not None
    assert _prod(control).traffic[0].tag == "stable"


async def test_reapply_applies_the_same_file_again(
    control: ControlPlane, store: MemoryStore, tmp_path: Path
) -> None:
    path = await _started_then_pinned(control, tmp_path)
    applied = await apply_at_start(control, path, reapply=True)
    assert applied is not None
    assert _prod(control).traffic[0].revision == 1
    history = [h.by for h in control.history("hello", "prod")]
    assert history == ["apply", "alias set", "apply"]


async def test_gaia_apply_does_not_count_as_the_start_up_file(
    control: ControlPlane, store: MemoryStore, tmp_path: Path
) -> None:
    path = _write(tmp_path)
    await control.apply(load_file(path))
    assert (await store.load()).startup_file is None
    # Never applied at a start: the first start applies it (a no-op here), and remembers it.
    assert await apply_at_start(control, path) is not None
    assert (await store.load()).startup_file is not None


async def test_a_file_that_does_not_apply_names_itself_and_changes_nothing(
    control: ControlPlane, store: MemoryStore, tmp_path: Path
) -> None:
    path = _write(tmp_path, FILE.replace("revision: 1,", "revision: 4,"))
    with pytest.raises(ConfigError) as refused:
        await apply_at_start(control, path)
    assert str(path) in str(refused.value)
    assert "revision 4 does not exist" in str(refused.value)
    assert await store.load() == control.state
    assert control.state.version == 0
