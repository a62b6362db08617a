from __future__ import annotations

import json
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from configkit.words import listing
from gateway.config import (
    ConfigError,
    FunctionConfig,
    GaiaFile,
    RevisionConfig,
    Trigger,
    load_file,
    parse_config,
    parse_config_document,
    parse_function,
)
from routing.names import Target
from routing.traffic import AliasSpec, Sticky, TrafficTarget
from runtime_adapters.python.settings import PythonSettings
from runtime_adapters.settings import PoolConfig
from triggers import registry
from triggers.http.config import HttpTriggerConfig

# Every registered kind, in the registry's order, as messages list them.
KINDS = listing(registry.names())

# DESIGN.md's example without what this release does not have (rollout; kafka, nats and
# cron triggers are in test_config_kafka.py, test_config_nats.py and test_config_cron.py).
# Route patterns are quoted: in YAML's flow style `{path: /a/{b}}` is a syntax error.
DESIGN_EXAMPLE = """\
functions:
  hello:
    runtime: python              # python | container | url
    code: ./functions/hello      # directory; requirements.txt in it is installed into the revision
    handler: main.handler        # module.function
    env: {GREETING: hi}
    timeout: 10s
    memory: 256Mi
    concurrency: 8               # in-flight invocations per instance
    pool: {min: 1, max: 8, idle: 5m}
    aliases:
      prod:
        traffic:
          - {revision: 1, percent: 90}
          - {revision: latest, percent: 10, tag: canary}
        sticky: header:x-user-id # header:NAME | cookie:NAME | query:NAME
    triggers:
      - http: {path: "/hello/{name}", methods: [GET, POST], alias: prod}
"""
LEGACY = """\
legacy:
  upstream: http://127.0.0.1:9000   # every unmatched request goes here
  routes:                           # the migration ledger, one entry per old route
    - {path: "/items/{id}", methods: [GET], function: items:prod, state: shadow}
    - {path: /orders, methods: [GET, POST], function: orders, state: canary, percent: 20}
    # state: legacy | shadow | canary | function | retired
"""


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "functions" / "hello").mkdir(parents=True)
    (tmp_path / "functions" / "hello" / "main.py").write_text("def handler(e, c): return 'hi'\n")
    return tmp_path


def parse(base: Path, text: str) -> GaiaFile:
    return parse_config(textwrap.dedent(text), base_dir=base)


def python(fn: FunctionConfig) -> PythonSettings:
    """The function's settings, checked to be the python runtime's."""
    assert isinstance(fn.settings.settings, PythonSettings)
    return fn.settings.settings


def hello(base: Path, **keys: object) -> FunctionConfig:
    """The function `hello` from a file holding only it, with `keys` beside `code`."""
    document = {"functions": {"hello": {"code": "functions/hello", **keys}}}
    return parse(base, yaml.safe_dump(document)).functions["hello"]


def issues(base: Path, document: object) -> list[str]:
    """Every issue as `path: message`, without the line, for `document` dumped to YAML."""
    with pytest.raises(ConfigError) as info:
        parse(base, document if isinstance(document, str) else yaml.safe_dump(document))
    assert info.value.file == "gaia.yaml"
    assert str(info.value).splitlines() == [f"gaia.yaml: {issue}" for issue in info.value.errors]
    return [str(replace(issue, line=None, column=None)) for issue in info.value.errors]


def hello_issues(base: Path, **keys: object) -> list[str]:
    return issues(base, {"functions": {"hello": {"code": "functions/hello", **keys}}})


# --- valid files ----------------------------------------------------------------------


def test_design_example_parses(base: Path) -> None:
    parsed = parse(base, DESIGN_EXAMPLE)

    fn = parsed.functions["hello"]
    assert fn.name == "hello"
    assert fn.code == base / "functions" / "hello"
    assert fn.code.is_absolute()
    assert fn.settings == RevisionConfig(
        runtime="python",
        settings=PythonSettings(
            handler="main.handler",
            env={"GREETING": "hi"},
            timeout_s=10.0,
            memory_bytes=256 * 1024**2,
            concurrency=8,
            pool=PoolConfig(min=1, max=8, idle_s=300.0),
            network=True,
        ),
    )
    assert fn.aliases["prod"] == AliasSpec(
        traffic=(
            TrafficTarget(revision=1, percent=90.0),
            TrafficTarget(revision="latest", percent=10.0, tag="canary"),
        ),
        sticky=Sticky(source="header", name="x-user-id"),
    )
    assert fn.aliases["default"] == AliasSpec()
    assert fn.triggers == (
        Trigger(
            kind="http",
            config=HttpTriggerConfig(path="/hello/{name}", methods=("GET", "POST")),
            target=Target(function="hello", alias="prod"),
        ),
    )


def test_design_legacy_section_loads(base: Path) -> None:
    legacy = parse(base, DESIGN_EXAMPLE + LEGACY).legacy
    assert legacy is not None
    assert legacy.upstream == "http://127.0.0.1:9000"
    items, orders = legacy.routes
    assert (items.path, items.methods, items.function, items.state) == (
        "/items/{id}",
        ("GET",),
        "items:prod",
        "shadow",
    )
    assert (orders.methods, orders.state, orders.percent) == (("GET", "POST"), "canary", 20.0)


def test_a_file_without_legacy_leaves_it_unset(base: Path) -> None:
    assert parse(base, DESIGN_EXAMPLE).legacy is None


def test_legacy_issues_name_their_key_and_line(base: Path) -> None:
    broken = LEGACY.replace("state: shadow}", "state: shadowed}")
    with pytest.raises(ConfigError) as info:
        parse(base, DESIGN_EXAMPLE + broken)
    [issue] = info.value.errors
    assert (issue.path, issue.line) == ("legacy.routes[0].state", 22)
    assert issue.message == ("expected legacy, shadow, canary, function or retired, got 'shadowed'")


def test_defaults(base: Path) -> None:
    fn = hello(base)
    assert fn.settings == RevisionConfig(runtime="python", settings=PythonSettings())
    settings = python(fn)
    assert settings.handler == "main.handler"
    assert settings.env == {}
    assert settings.timeout_s == 10.0
    assert settings.memory_bytes == 256 * 1024**2
    assert settings.concurrency == 8
    assert (settings.pool.min, settings.pool.max, settings.pool.idle_s) == (1, 8, 300.0)
    assert (settings.pool.queue, settings.pool.queue_timeout_s) == (10_000, None)
    assert settings.network is True
    assert dict(fn.aliases) == {"default": AliasSpec()}
    assert fn.aliases["default"].traffic == (TrafficTarget(revision="latest", percent=100.0),)
    assert fn.triggers == ()


def test_default_alias_is_added_beside_user_aliases(base: Path) -> None:
    fn = hello(base, aliases={"prod": {"traffic": [{"revision": 2, "percent": 100}]}})
    assert set(fn.aliases) == {"prod", "default"}
    assert fn.aliases["default"] == AliasSpec()


def test_user_default_alias_is_kept(base: Path) -> None:
    fn = hello(base, aliases={"default": {"traffic": [{"revision": 3, "percent": 100}]}})
    assert fn.aliases["default"].traffic == (TrafficTarget(revision=3, percent=100.0),)


def test_empty_alias_means_latest(base: Path) -> None:
    assert hello(base, aliases={"dev": None}).aliases["dev"] == AliasSpec()


@pytest.mark.parametrize("text", ["", "# nothing yet\n", "functions:\n", "functions: {}\n"])
def test_empty_files_are_valid(base: Path, text: str) -> None:
    assert parse(base, text) == GaiaFile()


def test_http_trigger_targets(base: Path) -> None:
    fn = hello(
        base,
        aliases={
            "prod": {
                "traffic": [
                    {"revision": 1, "percent": 100},
                    {"revision": "latest", "percent": 0, "tag": "next"},
                ]
            }
        },
        triggers=[
            {"http": {"path": "/a"}},
            {"http": {"path": "/b", "revision": 3, "methods": ["get", "Post", "GET"]}},
            {"http": {"path": "/c", "tag": "next", "host": "API.example.com"}},
        ],
    )
    a, b, c = fn.triggers
    assert a == Trigger(
        kind="http",
        config=HttpTriggerConfig(path="/a"),
        target=Target(function="hello", alias="default"),
    )
    assert isinstance(b.config, HttpTriggerConfig) and isinstance(c.config, HttpTriggerConfig)
    assert HttpTriggerConfig(path="/a").methods is None  # every method
    assert b.target == Target(function="hello", revision=3)
    assert b.config.methods == ("GET", "POST")
    assert c.target == Target(function="hello", alias="prod", tag="next")
    assert c.tag == "next"
    assert c.config.host == "api.example.com"


def test_env_values_become_strings_as_written(base: Path) -> None:
    fn = parse(
        base,
        """
        functions:
          hello:
            code: functions/hello
            env:
              NAME: hi
              PORT: 8080
              VERSION: 1.10
              DEBUG: on
              ENABLED: true
              EMPTY: ""
        """,
    ).functions["hello"]
    assert python(fn).env == {
        "NAME": "hi",
        "PORT": "8080",
        "VERSION": "1.10",
        "DEBUG": "on",
        "ENABLED": "true",
        "EMPTY": "",
    }


def test_code_is_resolved_against_the_files_directory(base: Path) -> None:
    (base / "gaia.yaml").write_text("functions:\n  hello:\n    code: ./functions/hello/../hello\n")
    fn = load_file(base / "gaia.yaml").functions["hello"]
    assert fn.code == (base / "functions" / "hello").resolve()


def test_code_may_be_absolute(base: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    assert hello(base, code=str(elsewhere)).code == elsewhere.resolve()


def test_yaml_anchors_and_merges(base: Path) -> None:
    parsed = parse(
        base,
        """
        functions:
          hello: &hello
            code: functions/hello
            timeout: 30s
          hello-two:
            <<: *hello
            memory: 1Gi
        """,
    )
    assert python(parsed.functions["hello-two"]).timeout_s == 30.0
    assert python(parsed.functions["hello-two"]).memory_bytes == 1024**3


# --- revision config --------------------------------------------------------------------


def test_revision_config_is_canonical(base: Path) -> None:
    one = hello(base, env={"B": "2", "A": "1"}, timeout="10000ms", pool={"idle": "5m", "min": 1})
    two = hello(base, env={"A": "1", "B": "2"}, pool={"min": 1, "idle": 300}, timeout=10)
    assert one.revision_config() == two.revision_config()
    encoded = json.dumps(one.revision_config())
    assert encoded == json.dumps(two.revision_config())
    assert list(one.revision_config()) == sorted(one.revision_config())
    env = one.revision_config()["env"]
    assert isinstance(env, dict)
    assert list(env) == ["A", "B"]


def test_revision_config_leaves_out_aliases_triggers_and_code(base: Path) -> None:
    plain = hello(base)
    routed = hello(base, aliases={"prod": None}, triggers=[{"http": {"path": "/x"}}])
    assert plain.revision_config() == routed.revision_config()
    assert set(plain.revision_config()) == {
        "runtime",
        "handler",
        "env",
        "timeout",
        "memory",
        "concurrency",
        "pool",
        "network",
    }


def test_revision_config_changes_with_settings(base: Path) -> None:
    assert hello(base).revision_config() != hello(base, env={"A": "1"}).revision_config()
    assert hello(base).revision_config() != hello(base, network=False).revision_config()


def test_queue_timeout_is_parsed_and_hashed_only_when_set(base: Path) -> None:
    fn = hello(base, timeout="5s", pool={"queue_timeout": "1500ms", "queue": 100})
    assert (python(fn).pool.queue_timeout_s, python(fn).pool.queue) == (1.5, 100)
    assert fn.revision_config()["pool"] == {
        "idle": 300.0,
        "max": 8,
        "min": 1,
        "queue": 100,
        "queue_timeout": 1.5,
    }
    # A revision published before the key existed hashes (and so dedups) the same.
    assert "queue_timeout" not in hello(base).revision_config()["pool"]  # type: ignore[operator]


def test_revision_config_round_trips(base: Path) -> None:
    fn = hello(
        base,
        env={"A": "1"},
        timeout="1.5m",
        memory="1Gi",
        pool={"min": 0, "max": 3, "queue_timeout": "30s"},
    )
    stored = json.loads(json.dumps(fn.revision_config()))
    assert FunctionConfig.from_revision_config(stored) == fn.settings
    assert RevisionConfig.from_dict(stored).to_dict() == fn.revision_config()


def test_from_revision_config_validates() -> None:
    with pytest.raises(ConfigError) as info:
        RevisionConfig.from_dict({"timeout": -1, "code": "."})
    assert [str(issue) for issue in info.value.errors] == [
        "code: unknown key 'code': expected runtime, env, timeout, memory, concurrency, "
        "pool, handler, interface, network, circuit or concurrency_limit",
        "timeout: expected a non-negative duration like 500ms, 10s, 5m or 1h, got -1",
    ]
    assert str(info.value).startswith("revision config: code: ")


def test_revision_spec(base: Path) -> None:
    settings = hello(base, timeout="3s").settings
    spec = settings.spec(function="hello", revision=2, digest="abc", bundle_dir=base)
    assert (spec.function, spec.revision, spec.digest, spec.bundle_dir) == ("hello", 2, "abc", base)
    assert spec.timeout_s == 3.0
    assert spec.pool == python(hello(base, timeout="3s")).pool.spec()


# --- errors -----------------------------------------------------------------------------

DURATION = "expected a duration like 500ms, 10s, 5m or 1h"


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"timeout": "abc"}, f"functions.hello.timeout: {DURATION}, got 'abc'"),
        (
            {"timeout": "0s"},
            "functions.hello.timeout: expected a duration longer than 0s, at most 15m",
        ),
        (
            {"timeout": "16m"},
            "functions.hello.timeout: expected a duration longer than 0s, at most 15m",
        ),
        ({"timeout": "-1s"}, "functions.hello.timeout: expected a non-negative duration"),
        ({"timeout": None}, f"functions.hello.timeout: {DURATION}, got nothing"),
        ({"memory": "16Mi"}, "functions.hello.memory: expected at least 32Mi, got '16Mi'"),
        ({"memory": "lots"}, "functions.hello.memory: expected a size like 512Mi, 1Gi or"),
        ({"memory": 1.5}, "functions.hello.memory: expected a size like 512Mi"),
        (
            {"concurrency": 0},
            "functions.hello.concurrency: expected a whole number from 1 to 1000, got 0",
        ),
        (
            {"concurrency": 1001},
            "functions.hello.concurrency: expected a whole number from 1 to 1000",
        ),
        (
            {"concurrency": "8"},
            "functions.hello.concurrency: expected a whole number from 1 to 1000, got '8'",
        ),
        (
            {"concurrency": True},
            "functions.hello.concurrency: expected a whole number from 1 to 1000, got true",
        ),
        (
            {"handler": "main"},
            "functions.hello.handler: expected module.function like main.handler",
        ),
        ({"handler": "main.class"}, "functions.hello.handler: expected module.function"),
        ({"handler": "my-mod.fn"}, "functions.hello.handler: expected module.function"),
        ({"env": {"1X": "a"}}, "functions.hello.env.1X: invalid variable name '1X'"),
        ({"env": {"A-B": "a"}}, "functions.hello.env.A-B: invalid variable name 'A-B'"),
        (
            {"env": {"A": None}},
            'functions.hello.env.A: expected a string (write "" for empty), got nothing',
        ),
        ({"env": {"A": [1]}}, "functions.hello.env.A: expected a string"),
        (
            {"env": ["A=1"]},
            "functions.hello.env: expected a mapping of variable names to values, got a list",
        ),
        (
            {"pool": {"min": -1}},
            "functions.hello.pool.min: expected a whole number of at least 0, got -1",
        ),
        (
            {"pool": {"max": 0}},
            "functions.hello.pool.max: expected a whole number of at least 1, got 0",
        ),
        (
            {"pool": {"min": 3, "max": 2}},
            "functions.hello.pool.max: expected min at most max, got min 3 and max 2",
        ),
        (
            {"pool": {"min": 9}},
            "functions.hello.pool.min: expected min at most max, got min 9 and max 8",
        ),
        ({"pool": {"idle": "0s"}}, "functions.hello.pool.idle: expected a duration longer than 0s"),
        (
            {"pool": {"queue_timeout": "0s"}},
            "functions.hello.pool.queue_timeout: expected a duration longer than 0s, at most 15m",
        ),
        (
            {"timeout": "2s", "pool": {"queue_timeout": "2500ms"}},
            "functions.hello.pool.queue_timeout: expected at most the function's timeout (2s),"
            " which the wait counts against, got 2.5s",
        ),
        (
            {"pool": {"maximum": 2}},
            "functions.hello.pool.maximum: unknown key 'maximum': did you mean 'max'?",
        ),
        (
            {"pool": 4},
            "functions.hello.pool: expected a mapping with min, max, idle, queue or"
            " queue_timeout, got 4",
        ),
        ({"network": "yes"}, "functions.hello.network: expected true or false, got 'yes'"),
        (
            {"runtime": "container"},
            "functions.hello.command: expected a command (a list like [node, server.js]) or an"
            " image to run",
        ),
        (
            {"runtime": "url", "urls": ["http://10.0.0.7:8080"]},
            "functions.hello.code: expected no code: runtime url runs none here",
        ),
        (
            {"runtime": "java"},
            "functions.hello.runtime: expected container, python or url, got 'java'",
        ),
        (
            {"command": ["x"]},
            "functions.hello.command: command is for runtime container, but this function runs"
            " on python",
        ),
        (
            {"runtime": "container", "command": ["x"], "handler": "main.handler"},
            "functions.hello.handler: handler is for runtime python, but this function runs"
            " on container",
        ),
        (
            {"runtime": "container", "image": "docker://busybox"},
            "functions.hello.image: expected oci-archive:PATH, docker-archive:PATH or oci:DIR,"
            " got 'docker://busybox'",
        ),
        (
            {"runtime": "container", "command": "node server.js"},
            "functions.hello.command: expected a list of non-empty strings like"
            " [node, server.js], got 'node server.js'",
        ),
        (
            {"runtime": "container", "command": ["x"], "readiness": "healthz"},
            "functions.hello.readiness.path: expected a URL path like /healthz, got 'healthz'",
        ),
        ({"timout": "5s"}, "functions.hello.timout: unknown key 'timout': did you mean 'timeout'?"),
        (
            {"colour": 1},
            "functions.hello.colour: unknown key 'colour': expected code, runtime, env, timeout",
        ),
        ({"code": "missing"}, "functions.hello.code: expected an existing directory, but "),
        ({"code": "functions/hello/main.py"}, "functions.hello.code: expected a directory, but "),
        ({"code": 3}, "functions.hello.code: expected the path of a directory, got 3"),
        (
            {"code": None},
            "functions.hello.code: required for runtime python: expected the directory",
        ),
    ],
)
def test_bad_function_settings(base: Path, keys: dict[str, object], expected: str) -> None:
    [issue] = hello_issues(base, **keys)
    assert issue.startswith(expected)


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        (
            {
                "prod": {
                    "traffic": [{"revision": 1, "percent": 90}, {"revision": 2, "percent": "x"}]
                }
            },
            "functions.hello.aliases.prod.traffic[1].percent: invalid percent 'x': expected",
        ),
        (
            {
                "prod": {
                    "traffic": [{"revision": 1, "percent": 90}, {"revision": 2, "percent": 120}]
                }
            },
            "functions.hello.aliases.prod.traffic[1].percent: percent 120 is out of range",
        ),
        (
            {"prod": {"traffic": [{"revision": 1, "percent": 90}]}},
            "functions.hello.aliases.prod.traffic: percents add up to 90: expected 100",
        ),
        (
            {"prod": {"traffic": [{"revision": 0, "percent": 100}]}},
            "functions.hello.aliases.prod.traffic[0].revision: invalid revision 0",
        ),
        (
            {"prod": {"sticky": "ip:x"}},
            "functions.hello.aliases.prod.sticky: invalid sticky key 'ip:x'",
        ),
        (
            {"prod": {"rollout": {"to": "latest", "steps": [10, 100]}}},
            "functions.hello.aliases.prod.rollout: rollout is not available yet",
        ),
        ({"Prod": None}, "functions.hello.aliases.Prod: invalid alias name 'Prod'"),
        (
            {"prod": "latest"},
            "functions.hello.aliases.prod: expected a mapping with traffic, sticky",
        ),
        (
            ["prod"],
            "functions.hello.aliases: expected a mapping of alias names to traffic, got a list",
        ),
    ],
)
def test_bad_aliases(base: Path, aliases: object, expected: str) -> None:
    [issue] = hello_issues(base, aliases=aliases)
    assert issue.startswith(expected)


TAGGED = {
    "prod": {
        "traffic": [{"revision": 1, "percent": 100}, {"revision": 2, "percent": 0, "tag": "b"}]
    },
    "staging": {"traffic": [{"revision": 2, "percent": 100, "tag": "b"}]},
}


@pytest.mark.parametrize(
    ("trigger", "expected"),
    [
        (
            {"cron": None},
            "triggers[0].cron.schedule: expected a schedule like '*/5 * * * *'",
        ),
        ({"htp": {"path": "/"}}, "triggers[0].htp: unknown trigger 'htp': did you mean 'http'?"),
        ({"sqs": {}}, f"triggers[0].sqs: unknown trigger 'sqs': expected {KINDS}"),
        (
            {"http": {"path": "/"}, "cron": {}},
            "triggers[0]: expected one trigger per list item, got cron and http",
        ),
        (
            {"http": None, "path": "/x", "alias": "prod"},
            "triggers[0]: expected the keys of 'http' indented under it,"
            " got alias and path beside it",
        ),
        (
            "http",
            f"triggers[0]: expected a mapping with one of {KINDS}, got 'http'",
        ),
        (
            {"http": None},
            "triggers[0].http.path: expected a URL path starting with '/', got nothing",
        ),
        (
            {"http": {"methods": ["GET"]}},
            "triggers[0].http.path: expected a URL path starting with '/', got nothing",
        ),
        (
            {"http": {"path": "hello"}},
            "triggers[0].http.path: expected a URL path starting with '/', got 'hello'",
        ),
        (
            {"http": {"path": "/", "methods": "GET"}},
            "triggers[0].http.methods: expected a list of HTTP methods from GET, HEAD",
        ),
        (
            {"http": {"path": "/", "methods": []}},
            "triggers[0].http.methods: expected a list of HTTP methods",
        ),
        (
            {"http": {"path": "/", "methods": ["FETCH"]}},
            "triggers[0].http.methods: expected a list of HTTP methods from GET, HEAD, POST,"
            " PUT, PATCH, DELETE, OPTIONS, TRACE or CONNECT, got 'FETCH'",
        ),
        (
            {"http": {"path": "/", "host": "http://a.com/"}},
            "triggers[0].http.host: expected a host name like api.example.com",
        ),
        (
            {"http": {"path": "/", "alias": "canary"}},
            "triggers[0].http.alias: alias 'canary' is not defined under aliases:"
            " expected default, prod or staging",
        ),
        (
            {"http": {"path": "/", "alias": "Prod"}},
            "triggers[0].http.alias: invalid alias name 'Prod'",
        ),
        (
            {"http": {"path": "/", "alias": "prod", "revision": 2}},
            "triggers[0].http: expected at most one of alias, revision or tag,"
            " got alias and revision",
        ),
        (
            {"http": {"path": "/", "revision": 0}},
            "triggers[0].http.revision: invalid revision 0: expected a positive integer",
        ),
        (
            {"http": {"path": "/", "revision": "latest"}},
            "triggers[0].http.revision: invalid revision",
        ),
        (
            {"http": {"path": "/", "tag": "c"}},
            "triggers[0].http.tag: tag 'c' is not defined: expected one of b",
        ),
        (
            {"http": {"path": "/", "tag": "b"}},
            "triggers[0].http.tag: tag 'b' is set in aliases prod and staging:"
            " expected a tag set in one alias only",
        ),
        (
            {"http": {"path": "/", "route": "/"}},
            "triggers[0].http.route: unknown key 'route':"
            " expected path, methods, host, alias, revision, tag or rate_limit",
        ),
    ],
)
def test_bad_triggers(base: Path, trigger: object, expected: str) -> None:
    [issue] = hello_issues(base, aliases=TAGGED, triggers=[trigger])
    assert issue.startswith(f"functions.hello.{expected}")


def test_triggers_must_be_a_list(base: Path) -> None:
    assert hello_issues(base, triggers={"http": {"path": "/"}}) == [
        "functions.hello.triggers: expected a list of triggers like - http: {path: /hello},"
        " got a mapping"
    ]


def test_a_broken_alias_does_not_also_break_triggers_naming_it(base: Path) -> None:
    aliases = {"prod": {"traffic": [{"revision": 1, "percent": 50, "tag": "x"}]}}
    triggers = [{"http": {"path": "/a", "alias": "prod"}}, {"http": {"path": "/b", "tag": "x"}}]
    assert hello_issues(base, aliases=aliases, triggers=triggers) == [
        "functions.hello.aliases.prod.traffic: percents add up to 50: expected 100"
    ]


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({"funtions": {}}, "funtions: unknown key 'funtions': did you mean 'functions'?"),
        ({"routes": []}, "routes: unknown key 'routes': expected functions or legacy"),
        (["functions"], "expected a mapping with functions or legacy, got a list"),
        ("just text", "expected a mapping with functions or legacy, got 'just text'"),
        ({"functions": ["hello"]}, "functions: expected a mapping of function names, got a list"),
        ({"functions": {"Hello": {"code": "."}}}, "functions.Hello: invalid function name 'Hello'"),
        (
            {"functions": {"hello": "functions/hello"}},
            "functions.hello: expected a mapping with code, runtime",
        ),
        ({"functions": {1: {"code": "."}}}, "functions.1: expected a name, got 1"),
    ],
)
def test_bad_top_level(base: Path, document: object, expected: str) -> None:
    [issue] = issues(base, document)
    assert issue.startswith(expected)


def test_all_errors_are_reported_at_once_in_file_order(base: Path) -> None:
    text = textwrap.dedent(
        """\
        functions:
          hello:
            code: functions/hello
            timeout: abc
            memory: 1Ki
            aliases:
              prod:
                traffic:
                  - {revision: 1, percent: 90}
                  - {revision: 2, percent: 20}
            triggers:
              - cron: {schedule: "* * *"}
              - http: {path: nope}
          bye:
            code: ./missing
        legacy:
          upstream: ftp://old.example.com
        """
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, file="deploy/gaia.yaml", base_dir=base)
    error = info.value
    assert error.file == "deploy/gaia.yaml"
    assert [(issue.path, issue.line) for issue in error.errors] == [
        ("functions.hello.timeout", 4),
        ("functions.hello.memory", 5),
        ("functions.hello.aliases.prod.traffic", 8),
        ("functions.hello.triggers[0].cron.schedule", 12),
        ("functions.hello.triggers[1].http.path", 13),
        ("functions.bye.code", 15),
        ("legacy.upstream", 17),
    ]
    lines = str(error).splitlines()
    assert lines[0] == (
        "deploy/gaia.yaml: functions.hello.timeout: expected a duration like 500ms, 10s, 5m"
        " or 1h, got 'abc' (line 4)"
    )
    assert lines[3] == (
        "deploy/gaia.yaml: functions.hello.triggers[0].cron.schedule: expected 5 cron fields"
        " (minute hour day month weekday), 6 with seconds first, @every DURATION or a shortcut"
        " like @hourly; got 3 field(s) in '* * *' (line 12)"
    )
    assert all(line.startswith("deploy/gaia.yaml: ") for line in lines)


def test_a_missing_key_is_reported_on_its_parents_line(base: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse(base, "functions:\n  hello:\n    handler: main.handler\n")
    [issue] = info.value.errors
    assert (issue.path, issue.line) == ("functions.hello.code", 2)


def test_yaml_syntax_error_names_line_and_column(base: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse(base, "functions:\n  hello:\n    code: .\n   timeout: 5s\n")
    [issue] = info.value.errors
    assert (issue.path, issue.line, issue.column) == ("", 4, 4)
    assert str(info.value) == (
        "gaia.yaml: invalid YAML: expected <block end>, but found '<block mapping start>'"
        " (while parsing a block mapping on line 2) (line 4, column 4)"
    )


def test_unquoted_braces_in_flow_style_get_a_hint(base: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse(base, "functions:\n  hello:\n    triggers:\n      - http: {path: /a/{b}}\n")
    [issue] = info.value.errors
    assert issue.line == 4
    assert 'quote values with braces: "/hello/{name}"' in issue.message


@pytest.mark.parametrize(
    "text",
    [
        "functions: {hello: {code: .}\n",
        "a: 1\n---\nb: 2\n",
        "functions: !!python/object:os.system {}\n",
        "functions:\n  hello:\n    env: {A: '\x07'}\n",
    ],
)
def test_other_yaml_errors(base: Path, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse(base, text)
    [issue] = info.value.errors
    assert issue.message.startswith("invalid YAML: ")
    assert issue.line is not None


def test_duplicate_keys_are_errors(base: Path) -> None:
    text = "functions:\n  hello:\n    code: .\n    timeout: 1s\n    timeout: 2s\n"
    assert issues(base, text) == [
        "functions.hello.timeout: 'timeout' is defined twice (first on line 4): expected each"
        " key once"
    ]


def test_load_file_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_file(tmp_path / "nope.yaml")
    assert info.value.file == str(tmp_path / "nope.yaml")
    assert (
        str(info.value)
        == f"{tmp_path / 'nope.yaml'}: cannot read the file: No such file or directory"
    )


def test_load_file_names_the_file(base: Path) -> None:
    (base / "gaia.yaml").write_text(
        "functions:\n  hello:\n    code: functions/hello\n    timeout: x\n"
    )
    with pytest.raises(ConfigError) as info:
        load_file(base / "gaia.yaml")
    assert str(info.value).startswith(f"{base / 'gaia.yaml'}: functions.hello.timeout: ")


# --- admin API entry points -----------------------------------------------------------


def test_parse_function_from_json(base: Path) -> None:
    fn = parse_function(
        "hello",
        {"code": "functions/hello", "env": {"PORT": 8080, "ON": True}, "timeout": 2.5},
        file="request",
        base_dir=base,
    )
    assert python(fn).env == {"PORT": "8080", "ON": "true"}
    assert python(fn).timeout_s == 2.5


def test_parse_function_paths_start_at_the_prefix(base: Path) -> None:
    with pytest.raises(ConfigError) as info:
        parse_function(
            "hello",
            {"code": "functions/hello", "timeout": "x", "triggers": [{"http": {}}]},
            file="request",
            base_dir=base,
            path_prefix="config",
        )
    assert [issue.path for issue in info.value.errors] == [
        "config.timeout",
        "config.triggers[0].http.path",
    ]
    assert all(issue.line is None for issue in info.value.errors)
    assert str(info.value).startswith("request: config.timeout: ")


def test_parse_function_accepts_a_stored_revision_config(base: Path) -> None:
    stored = hello(base, memory="1Gi", timeout="2m").revision_config()
    fn = parse_function("hello", {**stored, "code": "functions/hello"}, file="x", base_dir=base)
    assert fn.revision_config() == stored


def test_parse_config_document(base: Path) -> None:
    parsed = parse_config_document(
        {"functions": {"hello": {"code": "functions/hello"}}}, file="request", base_dir=base
    )
    assert set(parsed.functions) == {"hello"}
    with pytest.raises(ConfigError) as info:
        parse_config_document({"functions": {"hello": {}}}, file="request", base_dir=base)
    assert str(info.value) == (
        "request: functions.hello.code: required for runtime python: expected the directory"
        " of the code"
    )
