"""A handler that is not in the code fails `--dry-run` and the real command alike, in the
file/key/line form of every gaia.yaml error, and changes nothing."""

from __future__ import annotations

import base64
import io
import json
import re
import tarfile
from pathlib import Path

from tests.integration.harness import Gaia, GaiaFactory, write_function

GOOD = "def handler(event, context):\n    return 'ok'\n"


def _file(tmp_path: Path, handler: str) -> Path:
    config = tmp_path / "gaia.yaml"
    config.write_text(
        "functions:\n"
        "  hello:\n"
        "    code: ./hello\n"
        f"    handler: {handler}\n"
        "    triggers:\n"
        "      - http: {path: /hello}\n"
    )
    return config


def _functions(gaia: Gaia) -> list[str]:
    with gaia.admin() as admin:
        return [f["name"] for f in admin.get("/v1/functions").json()]


def test_apply_and_its_dry_run_refuse_a_missing_module_with_file_key_and_line(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    write_function(tmp_path / "hello", GOOD)
    config = _file(tmp_path, "mian.handler")
    gaia = gaia_factory().start()
    before = _functions(gaia)
    expected = (
        f"gaia: {config}: functions.hello.handler: expected mian.py or mian/__init__.py in"
        " the code directory for handler mian.handler, found neither (its modules: main)"
        " (line 4)\n"
    )
    for args in (["--dry-run"], [], ["--dry-run", "-o", "json"], ["-o", "json"]):
        result = gaia.cli("apply", "-f", str(config), *args)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", expected), args
    assert _functions(gaia) == before

    # The gateway checks too, for a client that skips the CLI's own validation.
    with gaia.admin() as admin:
        answer = admin.post(
            "/v1/apply",
            json={
                "document": {"functions": {"hello": {"code": ".", "handler": "mian.handler"}}},
                "bundles": {"hello": _bundle({"main.py": GOOD})},
                "dry_run": True,
            },
        )
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid_input"
    assert answer.json()["field"] == "functions.hello.handler"


def test_deploy_and_its_dry_run_refuse_a_missing_function_and_suggest_the_near_one(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    code = write_function(tmp_path / "hello", GOOD)
    gaia = gaia_factory().start()
    before = _functions(gaia)
    expected = (
        "gaia: config.handler: expected a function 'handlr' at the top level of main.py for"
        " handler 'main.handlr', found only handler there: did you mean 'handler'?\n"
    )
    for args in (["--dry-run"], []):
        result = gaia.cli("deploy", "fresh", "--code", str(code), "--handler", "main.handlr", *args)
        assert (result.returncode, result.stderr) == (1, expected), args
        # Packing ran, and said so as it ended; the gateway refused what came after.
        assert re.fullmatch(r"package +\d+\.\d ms\n", result.stdout), result.stdout
    assert _functions(gaia) == before

    dry = gaia.cli("deploy", "fresh", "--code", str(code), "--dry-run", "-o", "json")
    assert dry.returncode == 0, dry.stderr
    plan = json.loads(dry.stdout)
    assert (plan["dry_run"], plan["created"], plan["name"]) == (True, True, "fresh@1")
    assert _functions(gaia) == before  # a dry run stores nothing
    table = gaia.cli("deploy", "fresh", "--code", str(code), "--dry-run")
    assert table.returncode == 0 and "dry run: fresh@1 would be created" in table.stdout


def test_a_handler_only_the_import_can_miss_is_named_without_gaias_traceback(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    # `globals()` may bind any name, so the static check lets the warm-up decide.
    source = GOOD + "globals()['maybe'] = None\n"
    code = write_function(tmp_path / "hello", source)
    gaia = gaia_factory().start()
    result = gaia.cli("deploy", "fresh", "--code", str(code), "--handler", "main.other")
    assert result.returncode == 1
    assert result.stderr == (
        "gaia: config.handler: nothing published: fresh's new code did not start: cannot load"
        " handler 'main.other': main.py has no attribute 'other'\n"
    )
    assert "fresh" not in _functions(gaia)


def _bundle(files: dict[str, str]) -> str:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return base64.b64encode(buffer.getvalue()).decode()
