"""The admin API and CLI: token, OpenAPI, validation, atomic apply, metrics, examples."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import httpx

from tests.integration.functions import HELLO, VERSIONED
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function


def test_empty_home_serves_the_examples_and_creates_a_private_token(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start()
    token_file = gaia.home / "admin-token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    with gaia.data() as http:
        response = http.get("/hello/ada")
    assert response.status_code == 200
    assert response.json()["message"] == "hello, ada"

    assert httpx.get(f"{gaia.admin_url}/v1/functions").status_code == 401
    wrong = httpx.get(f"{gaia.admin_url}/v1/functions", headers={"authorization": "Bearer wrong"})
    assert wrong.status_code == 401
    with gaia.admin() as admin:
        assert [f["name"] for f in admin.get("/v1/functions").json()] == ["hello"]
        spec = httpx.get(f"{gaia.admin_url}/openapi.json").json()
        assert spec["openapi"].startswith("3.")
        assert "/v1/functions/{fn}/aliases/{alias}" in spec["paths"]
        assert "put" in spec["paths"]["/v1/functions/{fn}/aliases/{alias}"]


def test_apply_is_all_or_nothing(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    write_function(tmp_path / "one", VERSIONED.replace("{version}", "one"))
    write_function(
        tmp_path / "broken", "import does_not_exist\n\ndef handler(e, c):\n    return 1\n"
    )
    good = tmp_path / "good.yaml"
    good.write_text(
        "functions:\n  one:\n    code: ./one\n    triggers:\n      - http: {path: /one}\n"
    )
    gaia = gaia_factory().start("-f", str(good))
    with gaia.admin() as admin:
        before = admin.get("/v1/status").json()["functions"]

    # A second function that fails to import: the first function's change must not land.
    write_function(tmp_path / "one", VERSIONED.replace("{version}", "one-changed"))
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "functions:\n"
        "  one:\n    code: ./one\n    triggers:\n      - http: {path: /one}\n"
        "  broken:\n    code: ./broken\n    triggers:\n      - http: {path: /broken}\n"
    )
    result = gaia.cli("apply", "-f", str(bad))
    assert result.returncode == 1
    assert "does_not_exist" in result.stderr
    assert "broken" in result.stderr

    # A route conflict is refused before anything is warmed.
    conflict = tmp_path / "conflict.yaml"
    conflict.write_text(
        "functions:\n  one:\n    code: ./one\n    triggers:\n"
        "      - http: {path: /one}\n      - http: {path: /one}\n"
    )
    result = gaia.cli("apply", "-f", str(conflict))
    assert result.returncode == 1
    assert "/one" in result.stderr

    # Local validation names the file, the key path and what is expected.
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("functions:\n  one:\n    code: ./one\n    timeout: soon\n")
    result = gaia.cli("apply", "-f", str(invalid))
    assert result.returncode == 1
    assert "invalid.yaml" in result.stderr and "functions.one.timeout" in result.stderr

    with gaia.admin() as admin:
        assert admin.get("/v1/status").json()["functions"] == before
    with gaia.data() as http:
        assert http.get("/one").text == "one"
        assert http.get("/broken").status_code == 404

    # Dry run shows the plan and changes nothing; a real apply then lands it.
    plan = json.loads(gaia.cli("apply", "-f", str(good), "--dry-run", "-o", "json").stdout)
    assert plan["functions"][0]["created_revision"] is True
    with gaia.data() as http:
        assert http.get("/one").text == "one"
    assert gaia.cli("apply", "-f", str(good)).returncode == 0
    with gaia.data() as http:
        assert http.get("/one").text == "one-changed"


def test_invalid_admin_input_is_a_4xx_naming_the_field(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia = gaia_factory().start()
    with gaia.admin() as admin:
        not_json = admin.post("/v1/apply", content=b"{nope")
        assert not_json.status_code == 422 and not_json.json()["field"] == "body"
        missing = admin.post("/v1/apply", json={})
        assert missing.status_code == 422 and missing.json()["field"] == "document"
        bad_name = admin.post("/v1/functions/Bad_Name/revisions", json={"code": ""})
        assert bad_name.status_code == 422
        bad_code = admin.post("/v1/functions/ok/revisions", json={"code": "!!!"})
        assert bad_code.status_code == 422 and bad_code.json()["field"] == "code"
        unknown = admin.get("/v1/functions/ghost")
        assert unknown.status_code == 404
        bad_alias = admin.put("/v1/functions/hello/aliases/Prod!", json={"traffic": []})
        assert bad_alias.status_code == 422 and bad_alias.json()["field"] == "alias"
        assert [f["name"] for f in admin.get("/v1/functions").json()] == ["hello"]


def test_metrics_count_invocations_by_function_revision_alias_and_code(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    write_function(tmp_path / "hello", HELLO)
    config = tmp_path / "gaia.yaml"
    config.write_text(
        "functions:\n  hi:\n    code: ./hello\n    triggers:\n      - http: {path: /hi}\n"
    )
    gaia = gaia_factory().start("-f", str(config))
    with gaia.data() as http:
        for _ in range(3):
            assert http.get("/hi").status_code == 200
    line = (
        'gateway_function_invocation_total{alias="default",code="200",'
        'function_name="hi",revision="1"} 3.0'
    )
    with gaia.admin() as admin:
        wait_for(lambda: line in admin.get("/metrics").text, what="the invocation counter")
        text = admin.get("/metrics").text
    assert (
        'gateway_functions_seconds_count{alias="default",function_name="hi",revision="1"} 3.0'
        in text
    )


def test_cli_tables_and_json_agree(tmp_path: Path, gaia_factory: GaiaFactory) -> None:
    gaia = gaia_factory().start()
    status = gaia.cli("status")
    assert status.returncode == 0, status.stderr
    assert "hello:default" in status.stdout and "ALIAS" in status.stdout
    data = json.loads(gaia.cli("status", "-o", "json").stdout)
    with gaia.admin() as admin:
        api = admin.get("/v1/status").json()
    assert data["functions"] == api["functions"]
    # The embedded store: always there, nothing to check against.
    version = api["store"].pop("version")
    assert version >= 1
    assert api["store"] == {
        "kind": "sqlite",
        "connected": True,
        "error": None,
        "checked_at": None,
    }
    invoked = gaia.cli("invoke", "hello", "-o", "json")
    assert json.loads(invoked.stdout)["status"] == 200
    unreachable = Gaia(tmp_path / "elsewhere")
    unreachable.home.mkdir()
    (unreachable.home / "admin-token").write_text("x")
    result = unreachable.cli("status")
    assert result.returncode == 1
    assert "cannot reach the gaia admin API" in result.stderr
