"""The first hour's commands, run as a user runs them: the real `gaia` against a real
gateway, from directories inside and outside the project, output read as printed."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from tests.integration.functions import VERSIONED
from tests.integration.harness import GAIA, Gaia, GaiaFactory, wait_for, write_function


def run(
    gaia: Gaia, *args: str, cwd: Path, discover: bool = True
) -> subprocess.CompletedProcess[str]:
    """`gaia ARGS` in `cwd`; with `discover`, GAIA_HOME unset so the CLI finds the home."""
    env = dict(gaia.env)
    if discover:
        env.pop("GAIA_HOME")
    return subprocess.run(
        [*GAIA, *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def api(gaia: Gaia, path: str) -> Any:
    with gaia.admin() as admin:
        return admin.get(path).json()


def versions(directory: Path, *names: str) -> list[Path]:
    """A code directory per name, each answering its name."""
    return [write_function(directory / n, VERSIONED.replace("{version}", n)) for n in names]


def project(gaia_factory: GaiaFactory) -> tuple[Gaia, Path]:
    """A gateway started at a project's top, its home the project's `.gaia`."""
    gaia = gaia_factory("project/.gaia").start()
    return gaia, gaia.home.parent


def test_gaia_finds_its_home_from_any_directory_inside_the_project(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia, top = project(gaia_factory)
    deep = top / "functions" / "hello"
    deep.mkdir(parents=True)
    for where in (top, deep):
        assert f"data plane: {gaia.url}" in ok(run(gaia, "status", cwd=where))
    outside = run(gaia, "status", cwd=tmp_path)
    assert outside.returncode == 1
    assert f"no .gaia directory in {tmp_path} or above it" in outside.stderr
    assert "set GAIA_HOME" in outside.stderr
    # GAIA_HOME still wins over the directory.
    assert f"data plane: {gaia.url}" in ok(run(gaia, "status", cwd=tmp_path, discover=False))


def test_init_writes_a_starter_that_deploy_puts_on_a_url(gaia_factory: GaiaFactory) -> None:
    gaia, top = project(gaia_factory)
    work = top / "work"
    work.mkdir()
    out = ok(run(gaia, "init", "hi", cwd=work))
    assert out.splitlines() == [
        "wrote gaia.yaml",
        "wrote hi/main.py",
        "next: gaia deploy hi --code hi --route /hi --method GET --method POST",
    ]
    again = run(gaia, "init", "hi", cwd=work)
    assert again.returncode == 1
    assert f"{work / 'gaia.yaml'}, {work / 'hi' / 'main.py'} exists already" in again.stderr
    assert "overwrites nothing" in again.stderr
    as_json = json.loads(ok(run(gaia, "init", "tick", "-t", "cron", "-o", "json", cwd=top)))
    assert as_json == {
        "function": "tick",
        "template": "cron",
        "files": [str(top / "gaia.yaml"), str(top / "tick" / "main.py")],
        "next": "gaia apply -f gaia.yaml",
    }
    refused = run(gaia, "init", "Bad_Name", cwd=top / "tick")
    assert refused.returncode == 1 and "Bad_Name" in refused.stderr
    assert not (top / "tick" / "gaia.yaml").exists()

    deployed = ok(run(gaia, "deploy", "hi", "--code", "hi", "--route", "/hi", cwd=work))
    assert "created hi@1" in deployed
    assert f"  {gaia.url}/hi\n" in deployed
    assert "added trigger: http * /hi" in deployed
    assert "serving: hi:default" in deployed
    with gaia.data() as http:
        assert http.get("/hi", params={"name": "ada"}).json() == {"message": "hello, ada"}
    # The same route again is not a second trigger; the same code is no new revision.
    again_json = json.loads(
        ok(run(gaia, "deploy", "hi", "--code", "hi", "--route", "/hi", "-o", "json", cwd=work))
    )
    assert again_json["created"] is False and again_json["triggers_added"] == []
    assert again_json["urls"] == [f"{gaia.url}/hi"]
    assert [t["id"] for t in api(gaia, "/v1/functions/hi")["triggers"]] == ["hi/http/0"]
    # The file init wrote applies as is, onto the same function.
    applied = ok(run(gaia, "apply", "-f", "gaia.yaml", cwd=work))
    assert "applied" in applied


def test_deploy_route_with_methods_and_bad_routes_change_nothing(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia, top = project(gaia_factory)
    [code] = versions(tmp_path, "one")
    before = api(gaia, "/v1/functions")
    for args, message in [
        (["--route", "nope"], "triggers[0].http.path: expected a URL path starting with '/'"),
        (["--method", "GET"], "--method needs --route"),
        (["--route", "/hello"], "conflicts with route hello/http/0"),
        (["--route", "/x", "--method", "FETCH"], "triggers[0].http.methods"),
    ]:
        result = run(gaia, "deploy", "fresh", "--code", str(code), *args, cwd=top)
        assert result.returncode == 1, result.stdout
        assert message in result.stderr
        assert api(gaia, "/v1/functions") == before  # not even the function was created
    out = ok(
        run(
            gaia,
            "deploy",
            "one",
            "--code",
            str(code),
            "--route",
            "/one",
            "--method",
            "get",
            cwd=top,
        )
    )
    assert "added trigger: http GET /one" in out
    with gaia.data() as http:
        assert http.get("/one").text == "one"
        assert http.post("/one").status_code == 405


def test_old_code_again_says_how_to_send_it_traffic_and_the_hint_works(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia, top = project(gaia_factory)
    one, two = versions(tmp_path, "one", "two")
    ok(run(gaia, "deploy", "v", "--code", str(one), "--route", "/v", cwd=top))
    ok(run(gaia, "deploy", "v", "--code", str(two), cwd=top))
    ok(run(gaia, "alias", "set", "v:prod", "2=100", cwd=top))
    again = ok(run(gaia, "deploy", "v", "--code", str(one), cwd=top))
    assert "unchanged, same digest as v@1" in again
    hint = again[again.index("v@1 gets no traffic") :].splitlines()
    assert hint == [
        "v@1 gets no traffic; to send it all of an alias's traffic:",
        "  gaia alias set v 1=100",
        "  gaia alias set v:prod 1=100",
    ]
    # The hinted command, as printed, sends the route's traffic there.
    ok(run(gaia, *hint[1].split()[1:], cwd=top))
    with gaia.data() as http:
        assert http.get("/v").text == "one"
    as_json = json.loads(ok(run(gaia, "deploy", "v", "--code", str(one), "-o", "json", cwd=top)))
    assert as_json["name"] == "v@1" and as_json["created"] is False
    assert as_json["aliases"] == ["default"]


def test_pinning_default_is_said_and_latest_restores_it(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia, top = project(gaia_factory)
    one, two, three = versions(tmp_path, "one", "two", "three")
    ok(run(gaia, "deploy", "v", "--code", str(one), "--route", "/v", cwd=top))
    ok(run(gaia, "deploy", "v", "--code", str(two), cwd=top))
    pinned = ok(run(gaia, "alias", "set", "v", "1=100", cwd=top))
    assert (
        "note: v:default no longer follows latest at 100% (100% @1), so a new deploy gets 0%"
        " of it; `gaia alias set v latest=100` restores it"
    ) in pinned
    split = ok(run(gaia, "alias", "set", "v", "1=70", "latest=30", cwd=top))
    assert "so a new deploy gets 30% of it" in split
    # Another alias is not `default`: nothing to warn about.
    assert "note:" not in ok(run(gaia, "alias", "set", "v:prod", "1=100", cwd=top))
    deployed = ok(run(gaia, "deploy", "v", "--code", str(three), cwd=top))
    assert "serving: v:default" in deployed  # 30% of it
    restored = ok(run(gaia, "alias", "set", "v", "latest=100", cwd=top))
    assert "note:" not in restored
    view = json.loads(ok(run(gaia, "alias", "show", "v:default", "-o", "json", cwd=top)))
    assert [(e["revision"], e["percent"], e["resolved_revision"]) for e in view["traffic"]] == [
        ("latest", 100, 3)
    ]
    with gaia.data() as http:
        assert {http.get("/v").text for _ in range(5)} == {"three"}


def test_list_describe_and_delete_show_and_remove_whole_functions(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia, top = project(gaia_factory)
    one, two = versions(tmp_path, "one", "two")
    ok(run(gaia, "deploy", "v", "--code", str(one), "--route", "/v/{rest:path}", cwd=top))
    ok(run(gaia, "deploy", "v", "--code", str(two), cwd=top))
    ok(run(gaia, "alias", "set", "v:prod", "1=90", "2=10", "--tag", "2=canary", cwd=top))

    for command in ("list", "functions"):
        listed = ok(run(gaia, command, cwd=top)).splitlines()
        assert listed[0].split() == ["NAME", "LATEST", "REVISIONS", "ALIASES", "TRIGGERS", "AGE"]
        rows = {line.split()[0]: line for line in listed[2:]}
        assert rows["v"].split()[:6] == ["v", "@2", "2", "default,", "prod", "1"]
        assert json.loads(ok(run(gaia, command, "-o", "json", cwd=top))) == api(
            gaia, "/v1/functions"
        )

    described = ok(run(gaia, "describe", "v", cwd=top))
    assert described.startswith("v  latest: v@2  created: ")
    for line in [
        "v@2   ",
        "v:default   100% latest (@2)",
        "v:prod      90% @1, 10% @2 #canary",
        f"v/http/0   http   * /v/{{rest:path}}   v:default   {gaia.url}/v/{{rest:path}}",
    ]:
        assert line in described, described
    revision_rows = [line.split() for line in described.splitlines() if line.startswith("v@")]
    assert [row[0] for row in revision_rows] == ["v@2", "v@1"]
    assert revision_rows[0][2:4] == ["yes", "default,"]
    described_json = json.loads(ok(run(gaia, "describe", "v", "-o", "json", cwd=top)))
    assert described_json == {
        "function": api(gaia, "/v1/functions/v"),
        "revisions": api(gaia, "/v1/functions/v/revisions"),
        "urls": {"v/http/0": f"{gaia.url}/v/{{rest:path}}"},
        "pools": [p for p in api(gaia, "/v1/status")["pools"] if p["revision"].startswith("v@")],
    }
    missing = run(gaia, "describe", "nope", cwd=top)
    assert missing.returncode == 1 and "function 'nope' does not exist" in missing.stderr

    # Aliases: `default` stays, one a trigger targets stays, any other goes with its history.
    kept = run(gaia, "alias", "delete", "v:default", cwd=top)
    assert kept.returncode == 1
    assert "v:default cannot be deleted: every function has it" in kept.stderr
    deleted = ok(run(gaia, "alias", "delete", "v:prod", cwd=top))
    assert deleted == "deleted v:prod (was 90% @1, 10% @2 #canary)\n"
    assert [a["alias"] for a in api(gaia, "/v1/functions/v/aliases")] == ["default"]
    with gaia.admin() as admin:
        assert admin.get("/v1/functions/v/aliases/prod/history").status_code == 404
    ok(run(gaia, "alias", "set", "v:prod", "1=100", cwd=top))
    history = json.loads(ok(run(gaia, "alias", "history", "v:prod", "-o", "json", cwd=top)))
    assert len(history) == 1 and history[0]["from"] is None  # a new alias, no old history
    gone = json.loads(ok(run(gaia, "alias", "delete", "v:prod", "-o", "json", cwd=top)))
    assert gone["name"] == "v:prod" and gone["traffic"][0]["revision"] == 1

    # A function: everything it owns goes, its route answers 404, its name is free again.
    removed = ok(run(gaia, "delete", "v", cwd=top))
    assert removed == "deleted v: 2 revisions, 1 alias, 1 trigger\n"
    assert "v" not in [f["name"] for f in api(gaia, "/v1/functions")]
    wait_for(
        lambda: not [p for p in api(gaia, "/v1/status")["pools"] if p["revision"].startswith("v@")],
        what="the deleted function's pools to stop",
    )
    with gaia.data() as http:
        assert http.get("/v/x").status_code == 404
    assert run(gaia, "delete", "v", cwd=top).stderr == "gaia: function 'v' does not exist\n"
    again = json.loads(ok(run(gaia, "deploy", "v", "--code", str(two), "-o", "json", cwd=top)))
    assert again["name"] == "v@1"
    removed_json = json.loads(ok(run(gaia, "delete", "v", "-o", "json", cwd=top)))
    assert removed_json["name"] == "v" and removed_json["revisions"] == 1
    # What a deleted function's revisions left on disk goes with them.
    assert not any((gaia.home / "bundles").glob(f"{again['digest']}*"))


def test_an_alias_a_trigger_targets_is_not_deleted(
    tmp_path: Path, gaia_factory: GaiaFactory
) -> None:
    gaia, top = project(gaia_factory)
    write_function(top / "v", VERSIONED.replace("{version}", "one"))
    (top / "gaia.yaml").write_text(
        "functions:\n  v:\n    code: ./v\n    aliases:\n      prod:\n        traffic:\n"
        "          - {revision: 1, percent: 100}\n"
        "    triggers:\n      - http: {path: /v, alias: prod}\n"
    )
    ok(run(gaia, "apply", "-f", "gaia.yaml", cwd=top))
    refused = run(gaia, "alias", "delete", "v:prod", cwd=top)
    assert refused.returncode == 1
    assert "v:prod is the target of trigger v/http/0" in refused.stderr
    with gaia.admin() as admin:
        assert admin.delete("/v1/functions/v/aliases/prod").status_code == 409
        assert admin.delete("/v1/functions/v/aliases/default").status_code == 422
        assert admin.delete("/v1/functions/v/aliases/nope").status_code == 404
    with gaia.data() as http:
        assert http.get("/v").text == "one"
