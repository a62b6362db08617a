"""What a function can see: bubblewrap where it exists, a loud warning where it does not."""

from __future__ import annotations

import logging
import shutil
import sys
from pathlib import Path

import msgspec
import pytest

from runtime_adapters.python import PythonRuntime, sandbox

from .conftest import KIT, MakeRuntime, http, json_body, require_bwrap, spec

REPO = Path(__file__).resolve().parents[3]
SYSTEM_ROOT = ("usr", "etc", "bin", "lib", "lib64", "sbin", "tmp", "proc", "dev", "code", "opt")


def snoop(paths: list[str]) -> bytes:
    return msgspec.json.encode({"paths": paths})


async def test_sandboxed_function_sees_only_its_code_and_its_env(
    make_runtime: MakeRuntime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_bwrap()
    gaia_home = tmp_path / "gaia-home"
    gaia_home.mkdir()
    (gaia_home / "admin-token").write_text("secret")
    marker = tmp_path / "marker"
    marker.write_text("outside /code")
    monkeypatch.setenv("GAIA_HOME", str(gaia_home))
    monkeypatch.setenv("GAIA_TEST_GATEWAY_SECRET", "must not leak")
    runtime = await make_runtime(sandbox=True)
    assert runtime.sandboxed
    described = spec("main.snoop", env={"FUNCTION_SETTING": "mine"})
    await runtime.warm(described)
    # The repository (gateway source, tests) stays hidden even where the interpreter's
    # venv, which the sandbox must bind, lives inside it.
    hidden = [str(REPO / "README.md"), str(REPO / "gateway")]
    paths = [str(gaia_home), str(marker), *hidden, "/code/main.py", str(KIT)]
    seen = json_body(await runtime.invoke(described.key, http(body=snoop(paths))))
    assert seen["exists"] == {
        str(gaia_home): False,
        str(marker): False,
        **dict.fromkeys(hidden, False),
        "/code/main.py": True,
        str(KIT): False,
    }
    assert seen["code_write"] in {"OSError", "PermissionError"}
    assert seen["cwd"] == "/code"
    env = seen["env"]
    assert env["FUNCTION_SETTING"] == "mine"
    assert "GAIA_HOME" not in env and "GAIA_TEST_GATEWAY_SECRET" not in env
    assert set(env) <= {
        "PATH",
        "HOME",
        "LANG",
        "PYTHONDONTWRITEBYTECODE",
        "MALLOC_ARENA_MAX",
        "PWD",
        "FUNCTION_SETTING",
    }
    assert len(seen["pids"]) <= 3, seen["pids"]  # bwrap's init, the worker (own pid ns)
    # Beyond the system directories, only the top of the interpreter's prefixes shows.
    prefixes = {Path(p).parts[1] for p in (sys.prefix, sys.base_prefix, sandbox.LIB_DIR)}
    assert set(seen["root"]) - prefixes <= set(SYSTEM_ROOT), seen["root"]
    assert seen["shadow"] in (None, "")  # masked: root's password hashes stay on the host
    limits = seen["limits"]
    assert limits["RLIMIT_NOFILE"] == [1024, 1024]
    assert limits["RLIMIT_CORE"] == [0, 0]
    assert limits["RLIMIT_NPROC"][1] <= 256
    # the function's 256Mi on top of what the runtime had mapped before its import
    assert 256 * 2**20 < limits["RLIMIT_AS"][1] < 512 * 2**20


async def test_network_false_leaves_only_loopback(make_runtime: MakeRuntime) -> None:
    require_bwrap()
    runtime = await make_runtime(sandbox=True)
    described = spec("main.snoop", network=False)
    await runtime.warm(described)
    seen = json_body(await runtime.invoke(described.key, http(body=snoop([]))))
    assert seen["interfaces"] == ["lo"]


def test_sandbox_required_without_bwrap_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="bwrap"):
        PythonRuntime(tmp_path, sandbox=True)


async def test_without_bwrap_functions_run_unsandboxed_with_one_warning(
    make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setattr(sandbox, "_warned_unsandboxed", False)
    caplog.set_level(logging.WARNING, logger="gaia.runtime.python")
    first = await make_runtime()
    second = await make_runtime()
    assert not first.sandboxed and not second.sandboxed
    warnings = [r for r in caplog.records if "UNSANDBOXED" in r.getMessage()]
    assert len(warnings) == 1
    await first.warm(spec("main.hello"))
    assert (await first.invoke(spec().key, http())).status == 200


async def test_unsandboxed_worker_gets_no_gateway_env(
    make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GAIA_TEST_GATEWAY_SECRET", "must not leak")
    runtime = await make_runtime(sandbox=False)
    await runtime.warm(spec("main.snoop"))
    seen = json_body(await runtime.invoke(spec().key, http(body=snoop([]))))
    assert "GAIA_TEST_GATEWAY_SECRET" not in seen["env"]
    assert seen["cwd"] != "/code"  # the slot dir on the host
