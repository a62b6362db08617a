"""A run's files are written all or none, into a directory that is new, empty, or a
previous run's; anything else is refused and left as it was."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from k8s.errors import RenderError
from k8s.output import MARKER, check_target, write_directory

FILES = {"hello-r1.yaml": "a: 1\n", "gateway.yaml": "b: 2\n"}


def _contents(directory: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in directory.iterdir() if p.name != MARKER}


def test_a_new_directory_gets_every_file(tmp_path: Path) -> None:
    target = tmp_path / "k8s"
    write_directory(target, FILES)
    assert _contents(target) == FILES
    assert (target / MARKER).is_file()
    assert os.listdir(tmp_path) == ["k8s"]  # no staging directory left behind


def test_an_empty_directory_is_filled(tmp_path: Path) -> None:
    target = tmp_path / "k8s"
    target.mkdir()
    write_directory(target, FILES)
    assert _contents(target) == FILES


def test_a_previous_run_is_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "k8s"
    write_directory(target, {**FILES, "old-r1.yaml": "c: 3\n"})
    write_directory(target, {"new-r2.yaml": "d: 4\n"})
    assert _contents(target) == {"new-r2.yaml": "d: 4\n"}  # old-r1.yaml is gone too
    assert sorted(os.listdir(tmp_path)) == ["k8s"]


def test_a_directory_of_other_files_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "k8s"
    target.mkdir()
    (target / "mine.yaml").write_text("keep me\n")
    with pytest.raises(RenderError, match="holds files gaia k8s render did not write"):
        check_target(target)
    with pytest.raises(RenderError, match=r"mine\.yaml"):
        write_directory(target, FILES)
    assert _contents(target) == {"mine.yaml": "keep me\n"}
    assert os.listdir(tmp_path) == ["k8s"]


@pytest.mark.parametrize("where", ["a-file", "a-file/k8s", "missing/k8s"])
def test_a_target_that_cannot_be_written_is_an_error_and_writes_nothing(
    tmp_path: Path, where: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    target = tmp_path / where
    with pytest.raises(RenderError, match=f"cannot write {target}"):
        check_target(target)
        write_directory(target, FILES)
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


def test_a_failure_midway_leaves_the_previous_run(tmp_path: Path) -> None:
    target = tmp_path / "k8s"
    write_directory(target, FILES)
    # A name that cannot be a file fails after the first file is written.
    with pytest.raises(RenderError, match="cannot write"):
        write_directory(target, {"first.yaml": "e: 5\n", "no/such/dir.yaml": "f: 6\n"})
    assert _contents(target) == FILES
    assert os.listdir(tmp_path) == ["k8s"]
