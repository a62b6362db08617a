"""Bad admin input is a 4xx JSON error naming the field and changes nothing; gaia.yaml and the
CLI refuse the same input with the same message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.functions import VERSIONED
from tests.integration.harness import Gaia, write_function

ALIAS = "/v1/functions/greet/aliases/prod"


@pytest.fixture(scope="module")
def gaia(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gaia]:
    """`greet` with revisions 1 and 2 and an alias `prod` at revision 1, 100%."""
    root = Path(tmp_path_factory.mktemp("admin-validation"))
    code = write_function(root / "greet", VERSIONED.replace("{version}", "v1"))
    config = root / "gaia.yaml"
    config.write_text(
        "functions:\n  greet:\n    code: ./greet\n    aliases:\n"
        "      prod: {traffic: [{revision: 1, percent: 100}]}\n"
    )
    gaia = Gaia(root / "home").start("-f", str(config))
    write_function(code, VERSIONED.replace("{version}", "v2"))
    assert gaia.cli("deploy", "greet", "--code", str(code)).returncode == 0
    yield gaia
    gaia.kill()


def _state(gaia: Gaia) -> object:
    with gaia.admin() as admin:
        return {
            "functions": admin.get("/v1/functions").json(),
            "history": admin.get(f"{ALIAS}/history").json(),
            "revisions": admin.get("/v1/functions/greet/revisions").json(),
        }


def _refused(response: httpx.Response, field: str) -> dict[str, object]:
    """The README's error body: 422, error, message, field, and the request's id."""
    assert response.status_code == 422, response.text
    body: dict[str, object] = response.json()
    assert body["field"] == field, body
    assert body["error"] == "invalid_input" and body["message"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


BODY_PATHS = [
    ("PUT", ALIAS),
    ("POST", "/v1/apply"),
    ("POST", "/v1/functions/greet/revisions"),
]


@pytest.mark.parametrize(("method", "path"), BODY_PATHS)
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"traffic": "\xff\xfe"}', "not UTF-8: byte 0xff at offset 13"),
        (b"[" * 1000 + b"]" * 1000, "more than 100 levels deep"),
        (b'{"traffic": ' + b'{"a": ' * 999 + b"1" + b"}" * 1000, "more than 100 levels deep"),
        (b'{"x": NaN}', "NaN is not a JSON number"),
        (b"", "request body is empty"),
    ],
    ids=["not-utf8", "1000-deep-list", "1000-deep-object", "nan", "empty"],
)
def test_a_bad_body_is_a_422_naming_body_and_changes_nothing(
    gaia: Gaia, method: str, path: str, raw: bytes, message: str
) -> None:
    before = _state(gaia)
    with gaia.admin() as admin:
        response = admin.request(method, path, content=raw)
    assert message in str(_refused(response, "body")["message"])
    assert _state(gaia) == before


@pytest.mark.parametrize(
    ("body", "field", "message", "yaml"),
    [
        (
            {"traffic": [{"revision": True, "percent": 100}]},
            "traffic[0].revision",
            "invalid revision true: expected a positive integer",
            "traffic: [{revision: true, percent: 100}]",
        ),
        (
            {"traffic": [{"revision": 1.0, "percent": 100}]},
            "traffic[0].revision",
            "invalid revision 1.0: expected a positive integer",
            "traffic: [{revision: 1.0, percent: 100}]",
        ),
        (
            {"traffic": [{"revision": 1, "percent": 100, "tag": "t" * 100_000}]},
            "traffic[0].tag",
            "invalid tag name " + ("'" + "t" * 39) + "... (100000 characters)",
            f"traffic: [{{revision: 1, percent: 100, tag: {'t' * 100_000}}}]",
        ),
        (
            {"traffic": [{"revision": 1, "percent": 100}], "sticky": "header:x user"},
            "sticky",
            "invalid header name 'x user': expected an HTTP token",
            "{traffic: [{revision: 1, percent: 100}], sticky: 'header:x user'}",
        ),
        (
            {"traffic": [{"revision": 1, "percent": 50}, {"revision": 1, "percent": 50}]},
            "traffic[1].revision",
            "revision 1 is listed twice",
            "traffic: [{revision: 1, percent: 50}, {revision: 1, percent: 50}]",
        ),
        (
            {"traffic": []},
            "traffic",
            "traffic is empty",
            "traffic: []",
        ),
    ],
    ids=["revision-true", "revision-float", "tag-100000", "sticky-space", "twice", "empty"],
)
def test_bad_traffic_is_refused_alike_by_the_api_and_gaia_yaml(
    gaia: Gaia, tmp_path: Path, body: object, field: str, message: str, yaml: str
) -> None:
    before = _state(gaia)
    with gaia.admin() as admin:
        refused = _refused(admin.put(ALIAS, json=body), field)
    assert str(refused["message"]).startswith(message), refused["message"]
    assert len(str(refused["message"])) < 300

    config = tmp_path / "gaia.yaml"
    if not yaml.startswith("{"):
        yaml = "{" + yaml + "}"
    config.write_text(
        f"functions:\n  greet:\n    code: {gaia.home.parent / 'greet'}\n"
        f"    aliases:\n      prod: {yaml}\n"
    )
    applied = gaia.cli("apply", "-f", str(config))
    assert applied.returncode == 1
    assert f"functions.greet.aliases.prod.{field}: {message}" in applied.stderr, applied.stderr
    assert _state(gaia) == before


def test_cli_alias_set_refuses_a_revision_twice_and_a_tag_twice(gaia: Gaia) -> None:
    before = _state(gaia)
    twice = gaia.cli("alias", "set", "greet:prod", "1=50", "1=50")
    assert twice.returncode == 1
    assert "traffic[1].revision: revision 1 is listed twice" in twice.stderr
    tags = gaia.cli("alias", "set", "greet:prod", "1=100", "--tag", "1=a", "--tag", "1=b")
    assert tags.returncode == 1 and "--tag names revision 1 twice" in tags.stderr
    for bad in ("true=100", "1.0=100", "1=nan"):
        result = gaia.cli("alias", "set", "greet:prod", bad)
        assert result.returncode == 1 and repr(bad) in result.stderr, result.stderr
    spaced = gaia.cli("alias", "set", "greet:prod", "1=100", "--sticky", "header:x user")
    assert spaced.returncode == 1 and "expected an HTTP token" in spaced.stderr
    assert _state(gaia) == before
    # The rules let a valid change through.
    ok = gaia.cli("alias", "set", "greet:prod", "1=90", "latest=10", "--tag", "latest=next")
    assert ok.returncode == 0, ok.stderr
    with gaia.admin() as admin:
        traffic = admin.get(ALIAS).json()["traffic"]
        assert [(t["revision"], t["tag"]) for t in traffic] == [(1, None), ("latest", "next")]
        admin.post(f"{ALIAS}/rollback").raise_for_status()


def test_publish_takes_revision_settings_only(gaia: Gaia) -> None:
    before = _state(gaia)
    with gaia.admin() as admin:
        response = admin.post(
            "/v1/functions/greet/revisions", json={"code": "", "config": {"triggers": []}}
        )
    assert response.status_code == 422
    assert str(response.json()["field"]).startswith("config.triggers")
    assert _state(gaia) == before


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"alias": "prod", "revision": "1"}, "got revision and alias"),
        ({"tag": "next", "revision": "1"}, "got revision and tag"),
    ],
)
def test_invoke_takes_a_revision_alone(gaia: Gaia, query: dict[str, str], message: str) -> None:
    with gaia.admin() as admin:
        refused = _refused(admin.post("/v1/functions/greet/invoke", params=query), "revision")
        assert message in str(refused["message"])
        one = admin.post("/v1/functions/greet/invoke", params={"revision": "1"})
        assert (one.status_code, one.text, one.headers["x-gaia-revision"]) == (
            200,
            "v1",
            "greet@1",
        )
    cli = gaia.cli("invoke", "greet@1", "--tag", "next")
    assert cli.returncode == 1 and cli.stdout == ""
    assert cli.stderr.startswith("gaia: ") and "got revision and tag" in cli.stderr
    as_json = gaia.cli("invoke", "greet@1", "--tag", "next", "-o", "json")
    assert as_json.returncode == 1 and json.loads(as_json.stdout)["error"]["field"] == "revision"


def test_options_and_405_list_every_method_of_a_path(gaia: Gaia) -> None:
    spec = httpx.get(f"{gaia.admin_url}/openapi.json").json()
    examples = {"{fn}": "greet", "{alias}": "prod", "{trigger}": "greet/http/0"}
    with gaia.admin() as admin:
        for template, operations in spec["paths"].items():
            path = template
            for name, value in examples.items():
                path = path.replace(name, value)
            methods = {m.upper() for m in operations} | {"OPTIONS"}
            if "GET" in methods:
                methods.add("HEAD")
            options = admin.options(path)
            assert options.status_code == 204, (path, options.text)
            assert set(options.headers["allow"].split(", ")) == methods, path
            refused = admin.request("PATCH", path)
            assert refused.status_code == 405, path
            assert set(refused.headers["allow"].split(", ")) == methods, path
            assert refused.json()["request_id"] == refused.headers["x-request-id"]
        # The paths the issue named, spelled out rather than read from the schema.
        assert admin.options(ALIAS).headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PUT"
        revisions = admin.options("/v1/functions/greet/revisions").headers["allow"]
        assert revisions == "GET, HEAD, OPTIONS, POST"


def test_the_schema_states_the_rules(gaia: Gaia) -> None:
    """The OpenAPI schema is as strict as the validation on what it can express."""
    spec = httpx.get(f"{gaia.admin_url}/openapi.json").json()
    schemas = spec["components"]["schemas"]
    alias, entry = schemas["AliasBody"], schemas["TrafficEntryBody"]
    assert alias["additionalProperties"] is False and entry["additionalProperties"] is False
    assert alias["properties"]["traffic"]["minItems"] == 1
    assert sorted(entry["required"]) == ["percent", "revision"]
    tag = entry["properties"]["tag"]["anyOf"][0]
    assert (tag["pattern"], tag["maxLength"]) == ("^[a-z][a-z0-9-]{0,62}$", 63)
    assert entry["properties"]["revision"]["anyOf"] == [
        {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
        {"type": "string", "const": "latest"},
    ]
    sticky = alias["properties"]["sticky"]["anyOf"][0]["pattern"]
    assert sticky == "^(header|cookie|query):[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$"
    bundles = schemas["ApplyBody"]["properties"]["bundles"]
    assert bundles["additionalProperties"] is False
    assert list(bundles["patternProperties"]) == ["^[a-z][a-z0-9-]{0,62}$"]
    config_keys = schemas["PublishBody"]["properties"]["config"]["propertyNames"]["enum"]
    assert "handler" in config_keys and "triggers" not in config_keys
    invoke = spec["paths"]["/v1/functions/{fn}/invoke"]["post"]
    assert [p["name"] for p in invoke["parameters"]] == ["fn", "alias", "revision", "tag"]
    error = schemas["ErrorView"]
    assert sorted(error["required"]) == ["error", "message", "request_id"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                assert answer.get("content"), (method, path, status)
