"""`- cron: {...}` triggers in gaia.yaml: the shared config contract, and validation into
CronTriggerConfig case by case (what applying them stores:
tests/gateway/test_trigger_records.py)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from gateway.config import (
    ConfigError,
    Trigger,
)
from routing.names import Target
from tests.triggers.config_contract import TriggerConfigContract
from tests.triggers.config_kit import (
    WITH_PROD,
    config_of,
    issues_in,
    issues_of,
    one_config,
    parse,
    triggers_of,
)
from triggers.cron.config import MAX_PAYLOAD_VALUES, CronTriggerConfig
from triggers.retrying import BackoffConfig

FULL = (
    WITH_PROD
    + """\
      - cron:
          schedule: "0 9 * * 1-5"
          timezone: Europe/Berlin
          payload:
            kind: report
            recipients: [ops@example.com, "2026-01-01"]
            limits: {rows: 100, ratio: 0.5, strict: true, note: null}
          misfire_grace: 30s
          coalesce: false
          overlap: queue
          jitter: 1m
          lease: redis://127.0.0.1:6379/2
          retries: 4
          backoff: {initial: 200ms, max: 1m}
          alias: prod
      - cron: {schedule: "@every 30s", payload: ping, revision: 1}
      - cron: {schedule: "*/10 * * * * *", payload: [1, 2], tag: canary}
"""
)


# The key every trigger needs, for tests that vary the others.
OK: dict[str, object] = {"schedule": "*/5 * * * *"}


MINIMAL = {"schedule": "*/5 * * * *"}


class TestCronConfig(TriggerConfigContract):
    kind = "cron"
    minimal: ClassVar[Mapping[str, object]] = MINIMAL
    full: ClassVar[Mapping[str, object]] = {
        "schedule": "0 9 * * 1-5",
        "timezone": "Europe/Berlin",
        "payload": {"kind": "report"},
        "misfire_grace": "30s",
        "coalesce": False,
        "overlap": "queue",
        "jitter": "2s",
        "lease": "redis://127.0.0.1:6379/0",
        "retries": 4,
        "backoff": {"initial": "200ms", "max": "1m"},
    }
    any_value = ("payload",)


def cron_triggers(base: Path, *triggers: dict[str, object], **keys: object) -> list[Trigger]:
    return triggers_of(base, "cron", *triggers, **keys)


def cron(base: Path, **keys: object) -> CronTriggerConfig:
    """The model of one trigger `- cron: {schedule: '*/5 * * * *', **keys}`."""
    return one_config(base, "cron", CronTriggerConfig, {**OK, **keys})


def issues(base: Path, *triggers: dict[str, object]) -> list[str]:
    return issues_of(base, "cron", *triggers)


def payload_issues(base: Path, payload: str) -> list[str]:
    """The issues of a trigger whose `payload:` is written as `payload` in YAML."""
    text = f"""\
    functions:
      hello:
        code: functions/hello
        triggers:
          - cron:
              schedule: "@hourly"
              payload: {payload}
    """
    return issues_in(base, text)


# --- valid triggers -------------------------------------------------------------------


def test_a_full_trigger_round_trips_through_the_stored_shape(base: Path) -> None:
    weekdays, every, seconds = parse(base, FULL).functions["hello"].triggers

    assert weekdays == Trigger(
        kind="cron",
        target=Target(function="hello", alias="prod"),
        config=CronTriggerConfig(
            schedule="0 9 * * 1-5",
            timezone="Europe/Berlin",
            payload={
                "kind": "report",
                "recipients": ["ops@example.com", "2026-01-01"],
                "limits": {"rows": 100, "ratio": 0.5, "strict": True, "note": None},
            },
            misfire_grace_s=30.0,
            coalesce=False,
            overlap="queue",
            jitter_s=60.0,
            lease="redis://127.0.0.1:6379/2",
            retries=4,
            backoff=BackoffConfig(initial_s=0.2, max_s=60.0),
        ),
    )
    assert every == Trigger(
        kind="cron",
        target=Target(function="hello", revision=1),
        config=CronTriggerConfig(schedule="@every 30s", payload="ping"),
    )
    assert seconds == Trigger(
        kind="cron",
        target=Target(function="hello", alias="prod", tag="canary"),
        config=CronTriggerConfig(schedule="*/10 * * * * *", payload=[1, 2]),
    )
    assert seconds.tag == "canary"
    for trigger in (weekdays, every, seconds):
        assert trigger.kind == "cron"
        assert CronTriggerConfig.from_dict(trigger.config.to_dict()) == trigger.config
        # The stored shape is also valid gaia.yaml, read back to the same model.
        [again] = cron_triggers(base, trigger.config.to_dict())
        assert again.config == trigger.config


def test_design_example(base: Path) -> None:
    text = """\
    functions:
      hello:
        code: functions/hello
        aliases: {prod: {traffic: [{revision: latest, percent: 100}]}}
        triggers:
          - cron: {schedule: "*/5 * * * *", timezone: UTC, alias: prod, payload: {kind: report}}
    """
    [trigger] = parse(base, text).functions["hello"].triggers
    assert trigger == Trigger(
        kind="cron",
        target=Target(function="hello", alias="prod"),
        config=CronTriggerConfig(schedule="*/5 * * * *", payload={"kind": "report"}),
    )


def test_defaults(base: Path) -> None:
    [trigger] = cron_triggers(base, {"schedule": "@hourly"})
    assert trigger.target == Target(function="hello", alias="default")
    config = trigger.config
    assert config == CronTriggerConfig(schedule="@hourly")
    assert (config.timezone, config.payload, config.lease) == ("UTC", None, None)
    assert (config.misfire_grace_s, config.coalesce, config.overlap) == (1.0, True, "skip")
    assert config.jitter_s == 0.0
    assert (config.retries, config.backoff.initial_s, config.backoff.max_s) == (2, 0.1, 30.0)
    assert CronTriggerConfig.from_dict(config.to_dict()) == config
    assert config.to_dict() == {
        "schedule": "@hourly",
        "timezone": "UTC",
        "misfire_grace": 1.0,
        "coalesce": True,
        "overlap": "skip",
        "jitter": 0.0,
        "retries": 2,
        "backoff": {"initial": 0.1, "max": 30.0},
    }


@pytest.mark.parametrize(
    "schedule",
    [
        "* * * * *",
        "*/5 * * * *",
        "0 9 * * mon-fri",
        "0 9 * * 0,7",
        "30 */2 1,15 1-6 *",
        "*/10 * * * * *",
        "@every 30s",
        "@every 1.5m",
        "@hourly",
        "@daily",
        "@yearly",
        "0  9 * *  *",  # extra spaces
        # Issue 11 (2, 3, 5): crontab forms that were refused or misread.
        "0 7-8/2 * * *",
        "0 0 1 8-dec *",
        "0 0 1 jan-11 *",
        "0 0 31 2 1",  # the 31st of February or a Monday in February: Mondays
    ],
)
def test_schedule_forms(base: Path, schedule: str) -> None:
    assert cron(base, schedule=schedule).schedule == schedule


def test_a_schedule_that_never_fires_is_refused(base: Path) -> None:
    assert issues(base, {"schedule": "0 0 31 2 *"}) == [
        "functions.hello.triggers[0].cron.schedule: schedule '0 0 31 2 *' never fires:"
        " no such date exists"
    ]


@pytest.mark.parametrize("timezone", ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_time_zones(base: Path, timezone: str) -> None:
    assert cron(base, timezone=timezone).timezone == timezone


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "text",
        "",
        0,
        -3,
        2.5,
        True,
        False,
        [],
        {},
        [1, "two", None, {"three": [3.0]}],
        {"a": {"b": {"c": [True, None]}}},
    ],
)
def test_payloads_that_json_carries(base: Path, payload: object) -> None:
    assert cron(base, payload=payload).payload == payload


def test_a_payload_is_copied_out_of_yaml_anchors(base: Path) -> None:
    text = """\
    functions:
      hello:
        code: functions/hello
        triggers:
          - cron: {schedule: "@hourly", payload: {a: &shared {kind: report}, b: *shared}}
    """
    [trigger] = parse(base, text).functions["hello"].triggers
    assert trigger.kind == "cron"
    payload = config_of(trigger, CronTriggerConfig).payload
    assert payload == {"a": {"kind": "report"}, "b": {"kind": "report"}}
    assert isinstance(payload, dict)
    assert payload["a"] is not payload["b"]


@pytest.mark.parametrize("duration", ["0", "0s", "1h", "59m59s", 0, 3600])
def test_misfire_grace_and_jitter_limits(base: Path, duration: object) -> None:
    config = cron(base, misfire_grace=duration, jitter=duration)
    assert config.misfire_grace_s == config.jitter_s


def test_jitter_may_exceed_misfire_grace(base: Path) -> None:
    config = cron(base, misfire_grace="1s", jitter="5m")
    assert (config.misfire_grace_s, config.jitter_s) == (1.0, 300.0)


@pytest.mark.parametrize("overlap", ["skip", "allow", "queue"])
def test_overlaps(base: Path, overlap: str) -> None:
    assert cron(base, overlap=overlap).overlap == overlap


@pytest.mark.parametrize(
    "lease",
    [
        "redis://127.0.0.1:6379",
        "redis://127.0.0.1:6379/0",
        "redis://redis.internal:6380/15",
        "rediss://cache.example.com:6379/1",
        "redis://[::1]:6379/0",
    ],
)
def test_lease_urls(base: Path, lease: str) -> None:
    assert cron(base, lease=lease).lease == lease


def test_same_schedule_twice_is_fine(base: Path) -> None:
    # Each trigger runs: two reports on one schedule, with different payloads.
    triggers = cron_triggers(base, {**OK, "payload": "a"}, {**OK, "payload": "b"})
    assert [config_of(t, CronTriggerConfig).payload for t in triggers] == ["a", "b"]


def test_every_trigger_kind_mixes(base: Path) -> None:
    text = """\
    functions:
      hello:
        code: functions/hello
        triggers:
          - http: {path: /hello}
          - kafka: {brokers: 127.0.0.1:9092, topic: orders}
          - nats: {servers: nats://127.0.0.1:4222, subject: orders.>}
          - cron: {schedule: "@daily"}
    """
    http, kafka, subject, daily = parse(base, text).functions["hello"].triggers
    assert http.kind == "http"
    assert kafka.kind == "kafka"
    assert subject.kind == "nats"
    assert daily.kind == "cron"


# --- mistakes -------------------------------------------------------------------------

SCHEDULE = (
    "expected a schedule like '*/5 * * * *' (minute hour day month weekday), '@every 30s' or"
    " '@hourly', got"
)
FIELDS = (
    "expected 5 cron fields (minute hour day month weekday), 6 with seconds first,"
    " @every DURATION or a shortcut like @hourly; got"
)
ZONE = "expected an IANA name like UTC or Europe/Berlin"
LEASE = (
    "expected a Redis URL redis://host:port or redis://host:port/db (rediss:// for TLS;"
    " port 1 to 65535, no credentials) like redis://127.0.0.1:6379/0, got"
)


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"schedule": None}, f"schedule: {SCHEDULE} nothing"),
        ({"schedule": ""}, f"schedule: {SCHEDULE} ''"),
        ({"schedule": "   "}, f"schedule: {SCHEDULE} '   '"),
        ({"schedule": 5}, f"schedule: {SCHEDULE} 5"),
        ({"schedule": ["*", "*", "*", "*", "*"]}, f"schedule: {SCHEDULE} a list"),
        ({"schedule": {"minute": 5}}, f"schedule: {SCHEDULE} a mapping"),
        ({"schedule": "* * *"}, f"schedule: {FIELDS} 3 field(s) in '* * *'"),
        ({"schedule": "* * * * * * *"}, f"schedule: {FIELDS} 7 field(s)"),
        (
            {"schedule": "61 * * * *"},
            "schedule: invalid cron expression '61 * * * *': invalid minute '61': expected 0-59",
        ),
        ({"schedule": "* 24 * * *"}, "schedule: invalid cron expression '* 24 * * *'"),
        ({"schedule": "* * 32 * *"}, "schedule: invalid cron expression '* * 32 * *'"),
        ({"schedule": "* * * 13 *"}, "schedule: invalid cron expression '* * * 13 *'"),
        (
            {"schedule": "* * * * 8"},
            "schedule: invalid cron expression '* * * * 8': invalid weekday '8': expected 0-7"
            " (0 and 7 are Sunday) or sun-sat",
        ),
        ({"schedule": "* * * * 5-1"}, "schedule: invalid cron expression '* * * * 5-1'"),
        ({"schedule": "@often"}, "schedule: unknown shortcut '@often': expected @every DURATION"),
        ({"schedule": "@every 500ms"}, "schedule: expected @every 1s or longer, got '@every"),
        ({"schedule": "@every soon"}, "schedule: expected @every with a duration like 30s or"),
        ({"timezone": "Mars/Base"}, f"timezone: unknown time zone 'Mars/Base': {ZONE}"),
        ({"timezone": ""}, f"timezone: unknown time zone '': {ZONE}"),
        ({"timezone": "../../etc/passwd"}, "timezone: unknown time zone '../../etc/passwd'"),
        ({"timezone": None}, "timezone: expected an IANA time zone name like UTC or Europe/Ber"),
        ({"timezone": 1}, "timezone: expected an IANA time zone name like UTC or Europe/Berlin"),
        (
            {"misfire_grace": "2h"},
            "misfire_grace: expected a duration from 0s to 1h, got '2h'",
        ),
        ({"misfire_grace": "-1s"}, "misfire_grace: expected a non-negative duration like 500m"),
        ({"misfire_grace": "soon"}, "misfire_grace: expected a duration like 500ms, 10s, 5m"),
        ({"jitter": "61m"}, "jitter: expected a duration from 0s to 1h, got '61m'"),
        ({"jitter": True}, "jitter: expected a duration like 500ms, 10s, 5m or 1h, got true"),
        ({"coalesce": "yes please"}, "coalesce: expected true or false, got 'yes please'"),
        ({"coalesce": 1}, "coalesce: expected true or false, got 1"),
        ({"overlap": "wait"}, "overlap: expected skip, allow or queue, got 'wait'"),
        ({"overlap": None}, "overlap: expected skip, allow or queue, got nothing"),
        ({"lease": "redis://localhost"}, f"lease: {LEASE} 'redis://localhost'"),
        ({"lease": "http://a:6379"}, f"lease: {LEASE} 'http://a:6379'"),
        ({"lease": "redis://a:0"}, f"lease: {LEASE} 'redis://a:0'"),
        ({"lease": "redis://a:65536"}, f"lease: {LEASE} 'redis://a:65536'"),
        ({"lease": "redis://a:6379/x"}, f"lease: {LEASE} 'redis://a:6379/x'"),
        ({"lease": "redis://u:p@a:6379/0"}, f"lease: {LEASE} 'redis://u:p@a:6379/0'"),
        ({"lease": "redis://a:6379/0?db=1"}, f"lease: {LEASE} 'redis://a:6379/0?db=1'"),
        ({"lease": "127.0.0.1:6379"}, f"lease: {LEASE} '127.0.0.1:6379'"),
        ({"lease": 6379}, f"lease: {LEASE} 6379"),
        ({"shedule": "x"}, "shedule: unknown key 'shedule': did you mean 'schedule'?"),
        ({"zone": "UTC"}, "zone: unknown key 'zone': did you mean 'timezone'?"),
        ({"every": "1m"}, "every: unknown key 'every': expected schedule, timezone, payload,"),
        ({"dead_letter": "x"}, "dead_letter: unknown key 'dead_letter': expected schedule,"),
    ],
)
def test_bad_keys(base: Path, keys: dict[str, object], expected: str) -> None:
    [issue] = issues(base, {**OK, **keys})
    prefix = "functions.hello.triggers[0].cron"
    assert issue.startswith(prefix + ("" if expected.startswith(":") else ".") + expected)


def test_a_bad_zone_and_a_bad_schedule_are_both_reported(base: Path) -> None:
    assert issues(base, {"schedule": "61 * * * *", "timezone": "Mars/Base"}) == [
        "functions.hello.triggers[0].cron.schedule: invalid cron expression '61 * * * *':"
        " invalid minute '61': expected 0-59, a range like 1-3, a step like */2 or 1-3/2,"
        " or a list of those separated by commas",
        f"functions.hello.triggers[0].cron.timezone: unknown time zone 'Mars/Base': {ZONE}",
    ]


JSON = (
    "expected a JSON value (a mapping with string keys, a list, a string, a number, true,"
    " false or null), got"
)


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (
            "2026-01-01",
            f": {JSON} the date 2026-01-01 (quote it to pass it as a string)",
        ),
        (
            "{when: 2026-03-29T02:30:00Z}",
            f".when: {JSON} the date 2026-03-29T02:30:00+00:00 (quote it to pass it as a string)",
        ),
        ("{days: [mon, 2026-01-05]}", f".days[1]: {JSON} the date 2026-01-05 (quote it"),
        ("{a: {b: [1, {c: 2026-01-01}]}}", f".a.b[1].c: {JSON} the date 2026-01-01"),
        ("!!binary aGk=", f": {JSON} binary data"),
        ("{ratio: .nan}", f".ratio: {JSON} nan (JSON numbers are finite)"),
        ("[.inf]", f"[0]: {JSON} inf (JSON numbers are finite)"),
        ("!!set {a, b}", f": {JSON} set "),
        ("{1: one}", ".1: expected a string key, got 1"),
        ("{true: yes}", ".True: expected a string key, got True"),
        ("&loop [1, *loop]", f"[1]: {JSON} a YAML alias of itself"),
    ],
)
def test_bad_payloads(base: Path, payload: str, expected: str) -> None:
    [issue] = payload_issues(base, payload)
    assert issue.startswith("functions.hello.triggers[0].cron.payload" + expected)


def test_every_bad_payload_value_is_reported(base: Path) -> None:
    assert payload_issues(base, "{a: 2026-01-01, b: [ok, 2026-01-02]}") == [
        f"functions.hello.triggers[0].cron.payload.a: {JSON} the date 2026-01-01 (quote it"
        " to pass it as a string)",
        f"functions.hello.triggers[0].cron.payload.b[1]: {JSON} the date 2026-01-02 (quote it"
        " to pass it as a string)",
    ]


def test_a_payload_alias_bomb_is_bounded(base: Path) -> None:
    # Each level doubles the values: 2**30 of them, were they all visited.
    levels = ["a0: &a0 [x, x]"]
    levels += [f"a{n}: &a{n} [*a{n - 1}, *a{n - 1}]" for n in range(1, 30)]
    payload = "{" + ", ".join(levels) + "}"
    assert payload_issues(base, payload) == [
        f"functions.hello.triggers[0].cron.payload: expected at most {MAX_PAYLOAD_VALUES}"
        " values nested at most 64 deep, got more"
    ]


def test_a_deeply_nested_payload_is_an_issue(base: Path) -> None:
    assert payload_issues(base, "[" * 65 + "]" * 65) == [
        f"functions.hello.triggers[0].cron.payload: expected at most {MAX_PAYLOAD_VALUES}"
        " values nested at most 64 deep, got more"
    ]
    assert cron(base, payload=[[[[[[[[[[1]]]]]]]]]]).payload == [[[[[[[[[[1]]]]]]]]]]


def test_every_mistake_of_one_trigger_is_reported(base: Path) -> None:
    found = issues(
        base,
        {
            "schedule": "* * *",
            "timezone": "Mars/Base",
            "payload": {"at": "x"},
            "overlap": "wait",
            "lease": "redis://a",
            "jitter": "2h",
        },
    )
    # In file order, and yaml.safe_dump sorts the keys.
    assert [issue.split(":")[0] for issue in found] == [
        "functions.hello.triggers[0].cron.jitter",
        "functions.hello.triggers[0].cron.lease",
        "functions.hello.triggers[0].cron.overlap",
        "functions.hello.triggers[0].cron.schedule",
        "functions.hello.triggers[0].cron.timezone",
    ]


def test_issues_carry_lines(base: Path) -> None:
    text = FULL.replace("overlap: queue", "overlap: wait")
    with pytest.raises(ConfigError) as info:
        parse(base, text)
    [issue] = info.value.errors
    assert (issue.path, issue.line) == ("functions.hello.triggers[0].cron.overlap", 19)
    assert issue.message == "expected skip, allow or queue, got 'wait'"


def test_a_payload_issue_carries_its_line(base: Path) -> None:
    text = FULL.replace('"2026-01-01"', "2026-01-01")
    with pytest.raises(ConfigError) as info:
        parse(base, text)
    [issue] = info.value.errors
    assert (issue.path, issue.line) == (
        "functions.hello.triggers[0].cron.payload.recipients[1]",
        15,
    )
