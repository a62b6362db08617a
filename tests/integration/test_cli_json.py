"""Every `gaia` command that prints data takes `-o json`, and its JSON is what the README
promises: run for real, each one, against a real gateway.

The commands come from `gaia`'s own click tree, so a command added later without a case
here, or without `-o json`, fails this test by name. Where the README says a command's
JSON is the admin API's data, the admin API's own response models (the ones
/openapi.json publishes, which forbid unknown keys) check it; where the README lists a
command's fields itself (`describe`, `invoke`, `cron next`), those are checked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import click
import pytest
from pydantic import BaseModel, TypeAdapter

from gateway.admin.migrate_schemas import (
    DiscoveredView,
    LedgerChangeView,
    LedgerRouteView,
    MigrateStatusView,
)
from gateway.admin.schemas import (
    AliasChangeView,
    AliasView,
    ApplyView,
    FunctionView,
    PoolView,
    PublishedView,
    RevisionView,
    StatusView,
    TriggerView,
)
from gateway.cli.main import cli
from tests.integration.functions import VERSIONED
from tests.integration.harness import Gaia, GaiaFactory, wait_for, write_function
from tests.legacy.oldapi import OldApi

CommandPath = tuple[str, ...]

# Commands with no data to print, so no `-o json`, and why.
EXEMPT: dict[CommandPath, str] = {
    ("up",): "runs the gateway in the foreground: what it prints is the server's log",
    ("dev",): "`up` plus a watch: a log of saves and revisions as they happen, until stopped",
}

CONFIG = """\
functions:
  hello:
    code: ./hello
    triggers:
      - http: {path: /hello}
      - cron: {schedule: "@every 1s"}
  doomed:
    code: ./doomed
legacy:
  upstream: UPSTREAM
  routes:
    - {path: /orders, methods: [GET, POST]}
"""
NEW_ROUTE = "/users/{id}"
# Every line `gaia logs` prints about an invocation has these (README, Observability).
LOG_FIELDS = ("time", "level", "request_id", "function", "revision", "trigger")


@dataclass(frozen=True, kw_only=True)
class Case:
    args: tuple[str, ...]
    check: Callable[[Any], None]
    # Run in this directory rather than the gateway's project (init writes files there).
    cwd: Path | None = None
    # JSON lines, as the admin API streams them (`logs`): checked as a list.
    ndjson: bool = False


def model(view: type[BaseModel], *, many: bool = False) -> Callable[[Any], None]:
    """The admin API's answer for this command, by its own model; a list must not be
    empty, so that its items are checked at all."""

    def check(data: Any) -> None:
        if many:
            assert isinstance(data, list) and data, data
            TypeAdapter(list[view]).validate_python(data)  # type: ignore[valid-type]
        else:
            view.model_validate(data)

    return check


def fields(*names: str, many: bool = False) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        items = data if many else [data]
        assert isinstance(items, list) and items, data
        for item in items:
            assert isinstance(item, dict), item
            assert set(names) <= item.keys(), f"missing {set(names) - item.keys()}: {item}"

    return check


def both(*checks: Callable[[Any], None]) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        for one in checks:
            one(data)

    return check


def _deployed(data: Any) -> None:
    model(PublishedView)(data)
    assert data["name"] == "hello@2" and data["created"] is True
    # The CLI's own stage joins the gateway's (no requirements.txt: no dependencies).
    assert data["timings_ms"].keys() == {"package", "store", "warm", "ready"}


def described(data_plane_url: str) -> Callable[[Any], None]:
    def check(data: Any) -> None:
        assert data.keys() == {"function", "revisions", "urls", "pools"}
        FunctionView.model_validate(data["function"])
        model(RevisionView, many=True)(data["revisions"])
        model(PoolView, many=True)(data["pools"])
        assert {pool["revision"].split("@")[0] for pool in data["pools"]} <= {"hello"}
        assert data["urls"] == {"hello/http/0": f"{data_plane_url}/hello"}

    return check


def _next_times(data: Any) -> None:
    assert isinstance(data, list) and len(data) == 3, data
    times = [datetime.fromisoformat(text) for text in data]
    assert all(t.tzinfo is not None and t.minute % 5 == 0 for t in times), data


def _k8s_rendered(data: Any) -> None:
    fields("output_dir", "namespace", "revisions", "gateway")(data)
    fields("function", "revision", "name", "digest", "image", "url", "file", "left_out", many=True)(
        data["revisions"]
    )
    assert data["revisions"][0]["name"] == "doomed@1"
    fields("file", "image")(data["gateway"])


def _k8s_cluster(data: Any) -> None:
    fields("output_dir", "namespace", "replicas", "files", "token_secret", "next")(data)
    assert (data["replicas"], data["files"]) == (3, ["gateway.yaml", "redis.yaml"])
    assert all(Path(data["output_dir"], file).is_file() for file in data["files"])
    assert data["token_secret"] in data["next"][0]


def _initialised(data: Any) -> None:
    assert data.keys() == {"function", "template", "files", "next"}
    assert (data["function"], data["template"]) == ("starter", "http")
    assert all(Path(file).is_file() for file in data["files"]), data["files"]


def cases(project: Path, data_plane_url: str) -> dict[CommandPath, Case]:
    """A run of each command, in this order: later ones use what earlier ones made, and
    the deletions come last."""
    return {
        ("init",): Case(args=("init", "starter"), check=_initialised, cwd=project / "init"),
        ("apply",): Case(
            args=("apply", "-f", str(project / "gaia.yaml"), "--dry-run"), check=model(ApplyView)
        ),
        ("deploy",): Case(
            args=("deploy", "hello", "--code", str(project / "hello-v2")), check=_deployed
        ),
        ("list",): Case(args=("list",), check=model(FunctionView, many=True)),
        ("functions",): Case(args=("functions",), check=model(FunctionView, many=True)),
        ("describe",): Case(args=("describe", "hello"), check=described(data_plane_url)),
        ("revisions",): Case(args=("revisions", "hello"), check=model(RevisionView, many=True)),
        ("status",): Case(args=("status",), check=model(StatusView)),
        ("alias", "set"): Case(
            args=("alias", "set", "hello:prod", "2=100"), check=model(AliasView)
        ),
        ("alias", "show"): Case(args=("alias", "show", "hello:prod"), check=model(AliasView)),
        ("alias", "history"): Case(
            args=("alias", "history", "hello:prod"), check=model(AliasChangeView, many=True)
        ),
        ("rollback",): Case(args=("rollback", "hello:prod"), check=model(AliasView)),
        ("invoke",): Case(
            args=("invoke", "hello"),
            check=fields(
                "status", "revision", "request_id", "duration_ms", "headers", "body", "error"
            ),
        ),
        ("logs",): Case(
            args=("logs", "hello", "--level", "info"),
            check=fields(*LOG_FIELDS, many=True),
            ndjson=True,
        ),
        ("triggers",): Case(args=("triggers",), check=model(TriggerView, many=True)),
        ("triggers", "show"): Case(
            args=("triggers", "show", "hello/http/0"), check=model(TriggerView)
        ),
        ("cron", "next"): Case(args=("cron", "next", "*/5 * * * *", "-n", "3"), check=_next_times),
        ("cron", "history"): Case(
            args=("cron", "history", "hello/cron/1"),
            check=fields(
                "scheduled",
                "started",
                "ended",
                "replica",
                "revision",
                "outcome",
                "attempts",
                "error",
                "result",
                many=True,
            ),
        ),
        ("migrate", "discover"): Case(
            args=("migrate", "discover"), check=model(DiscoveredView, many=True)
        ),
        ("migrate", "add"): Case(
            args=("migrate", "add", NEW_ROUTE, "--function", "hello"), check=model(LedgerRouteView)
        ),
        ("migrate", "set"): Case(
            args=("migrate", "set", NEW_ROUTE, "shadow"), check=model(LedgerRouteView)
        ),
        ("migrate", "history"): Case(
            args=("migrate", "history", NEW_ROUTE), check=model(LedgerChangeView, many=True)
        ),
        ("migrate", "status"): Case(args=("migrate", "status"), check=model(MigrateStatusView)),
        ("k8s", "render"): Case(
            args=("k8s", "render", "doomed", "--output-dir", str(project / "k8s")),
            check=_k8s_rendered,
        ),
        ("k8s", "cluster"): Case(
            args=(
                "k8s",
                "cluster",
                "-f",
                str(project / "gaia.yaml"),
                "--output-dir",
                str(project / "cluster"),
            ),
            check=_k8s_cluster,
        ),
        ("alias", "delete"): Case(args=("alias", "delete", "hello:prod"), check=model(AliasView)),
        ("delete",): Case(args=("delete", "doomed"), check=model(FunctionView)),
    }


def commands(
    group: click.Group = cli, path: CommandPath = ()
) -> Iterator[tuple[CommandPath, click.Command]]:
    """Every command `gaia --help` leads to: groups' subcommands, and a group itself when
    it runs without one (`gaia triggers`)."""
    context = click.Context(group, info_name=" ".join(("gaia", *path)))
    for name in group.list_commands(context):
        command = group.get_command(context, name)
        assert command is not None, name
        here = (*path, name)
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                yield here, command
            yield from commands(command, here)
        else:
            yield here, command


def takes_json(command: click.Command) -> bool:
    return any(
        isinstance(p, click.Option)
        and "--output" in p.opts
        and isinstance(p.type, click.Choice)
        and "json" in p.type.choices
        for p in command.params
    )


@pytest.fixture
def old_api(tmp_path: Path) -> Iterator[OldApi]:
    server = OldApi(tmp_path).start()
    yield server
    server.stop()


def _started(gaia_factory: GaiaFactory, project: Path, old_api: OldApi) -> Gaia:
    write_function(project / "hello", VERSIONED.replace("{version}", "v1"))
    write_function(project / "hello-v2", VERSIONED.replace("{version}", "v2"))
    write_function(project / "doomed", VERSIONED.replace("{version}", "doomed"))
    (project / "init").mkdir()
    (project / "gaia.yaml").write_text(CONFIG.replace("UPSTREAM", old_api.url))
    gaia = gaia_factory().start("-f", str(project / "gaia.yaml"))
    # What the reading commands need to have something to show: an alias with a change
    # to roll back, old-API traffic to discover, and a cron run.
    assert gaia.cli("alias", "set", "hello:prod", "1=100").returncode == 0
    with gaia.data() as http:
        assert http.get("/users/7").status_code == 404  # the old API's answer
        assert http.get("/hello").status_code == 200  # a line for `gaia logs hello`
    with gaia.admin() as admin:
        wait_for(
            lambda: admin.get("/v1/triggers/hello/cron/1/history").json(),
            what="a cron run of hello/cron/1",
        )
    return gaia


def test_every_command_prints_json_as_the_readme_says(
    tmp_path: Path, gaia_factory: GaiaFactory, old_api: OldApi
) -> None:
    tree = dict(commands())
    planned = cases(tmp_path, data_plane_url="")
    problems = [
        f"gaia {' '.join(p)}: {why} is exempt, but no such command"
        for p, why in EXEMPT.items()
        if p not in tree
    ]
    problems += [
        f"gaia {' '.join(p)}: a case, but no such command" for p in planned if p not in tree
    ]
    for path, command in tree.items():
        name = "gaia " + " ".join(path)
        if path in EXEMPT:
            continue
        if not takes_json(command):
            problems.append(f"{name} prints data but takes no -o json")
        elif path not in planned:
            problems.append(f"{name} takes -o json but has no case in this test")
    assert not problems, "\n".join(problems)

    gaia = _started(gaia_factory, tmp_path, old_api)
    for path, case in cases(tmp_path, gaia.url).items():
        name = "gaia " + " ".join(path)
        result = gaia.cli(*case.args, "-o", "json", cwd=case.cwd)
        assert result.returncode == 0, f"{name}: exit {result.returncode}: {result.stderr}"
        try:
            lines = result.stdout.splitlines()
            data = (
                [json.loads(line) for line in lines] if case.ndjson else json.loads(result.stdout)
            )
        except json.JSONDecodeError as exc:
            raise AssertionError(
                f"{name} -o json printed no JSON ({exc}):\n{result.stdout}"
            ) from None
        try:
            case.check(data)
        except (AssertionError, ValueError) as exc:
            raise AssertionError(f"{name} -o json: {exc}") from exc
