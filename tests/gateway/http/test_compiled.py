"""Which splice machinery the tests run: scripts/test runs the suite on setup.py's
compiled build (GAIA_SPLICE_BUILD=compiled) and the splice tests once more on the
pure-Python modules (GAIA_SPLICE_BUILD=pure), so a build that silently did not happen
fails here rather than passing as pure Python."""

from __future__ import annotations

import os
from pathlib import Path

from gateway.http.compiled import MODULES, build, compiled_modules, sources, stale

ROOT = Path(__file__).resolve().parents[3]


def test_the_splice_machinery_is_the_build_this_run_expects() -> None:
    expected = os.environ.get("GAIA_SPLICE_BUILD")
    assert expected in (None, "compiled", "pure"), (
        f"GAIA_SPLICE_BUILD must be 'compiled' or 'pure', got {expected!r}"
    )
    # All or none even when nobody says which (a developer's own pytest run).
    assert build() in ("compiled", "pure"), compiled_modules()
    if expected is not None:
        assert build() == expected, compiled_modules()


def test_the_modules_are_those_setup_py_compiles() -> None:
    with_pxd = {
        ".".join(pxd.relative_to(ROOT).with_suffix("").parts)
        for package in (
            "gateway",
            "httpkit",
            "legacy",
            "routing",
            "triggers",
            "runtime_adapters",
            "limits",
        )
        for pxd in (ROOT / package).rglob("*.pxd")
        if pxd.with_suffix(".py").exists()  # else C that compiled modules cimport
    }
    assert with_pxd == set(MODULES)


def test_no_compiled_module_hides_a_later_edit_of_its_source() -> None:
    assert stale() == [], "edited since the build: run `pip install -e .` again"


def test_a_module_is_built_from_the_declarations_it_cimports_too() -> None:
    # An edit of the C head builder or of the splice's declarations changes the compiled
    # exchange as surely as an edit of exchange.py: `stale` must see either.
    exchange = sources("gateway.http.exchange")
    assert exchange[:2] == [ROOT / "gateway/http/exchange.py", ROOT / "gateway/http/exchange.pxd"]
    assert ROOT / "httpkit/cheadbytes.pxd" in exchange
    assert ROOT / "gateway/http/splice.pxd" in exchange
    # The standard library's and Cython's own (libc, cpython) are not the repository's.
    assert all(path.is_relative_to(ROOT) and path.exists() for path in exchange)
