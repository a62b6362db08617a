"""GAIA_HOME is found as git finds `.git`: the variable, else the nearest `.gaia` above."""

from __future__ import annotations

from pathlib import Path

from gateway.home import home_from_env, how_found


def test_the_nearest_gaia_directory_above_the_working_directory_is_the_home(
    tmp_path: Path,
) -> None:
    (tmp_path / ".gaia").mkdir()
    deep = tmp_path / "functions" / "hello"
    deep.mkdir(parents=True)
    assert home_from_env({}, cwd=deep) == tmp_path / ".gaia"
    assert home_from_env({}, cwd=tmp_path) == tmp_path / ".gaia"
    assert "nearest .gaia" in how_found({}, cwd=deep)


def test_a_nested_project_wins_over_the_one_around_it(tmp_path: Path) -> None:
    (tmp_path / ".gaia").mkdir()
    (tmp_path / "inner" / ".gaia").mkdir(parents=True)
    assert home_from_env({}, cwd=tmp_path / "inner") == tmp_path / "inner" / ".gaia"


def test_a_file_named_gaia_is_no_home(tmp_path: Path) -> None:
    (tmp_path / ".gaia").write_text("not a directory")
    sub = tmp_path / "sub"
    sub.mkdir()
    assert home_from_env({}, cwd=sub) == sub / ".gaia"
    assert how_found({}, cwd=sub).startswith("no .gaia directory")


def test_gaia_home_overrides_discovery(tmp_path: Path) -> None:
    (tmp_path / ".gaia").mkdir()
    elsewhere = tmp_path / "elsewhere"
    assert home_from_env({"GAIA_HOME": str(elsewhere)}, cwd=tmp_path) == elsewhere
    assert how_found({"GAIA_HOME": str(elsewhere)}, cwd=tmp_path) == "GAIA_HOME"
    # An empty GAIA_HOME is unset, not the working directory.
    assert home_from_env({"GAIA_HOME": ""}, cwd=tmp_path) == tmp_path / ".gaia"
