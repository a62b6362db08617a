"""`retries` and `backoff`, the keys every queue trigger kind shares: checked once here,
through each kind that has them, with the messages users see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gateway.config import ConfigError, parse_config
from tests.triggers.config_contract import gaia_yaml
from triggers import registry
from triggers.retrying import BackoffConfig

# The smallest valid section of each kind with retry keys.
SECTIONS = {
    "kafka": {"brokers": "a:9092", "topic": "orders"},
    "nats": {"servers": "a:4222", "subject": "orders"},
    "redis": {"url": "redis://127.0.0.1:6379/0", "stream": "orders"},
    "cron": {"schedule": "@hourly"},
}


def test_every_kind_with_retries_is_checked_here() -> None:
    retrying = {
        kind.name
        for kind in registry.kinds()
        if {"retries", "backoff"} <= set(kind.config.yaml_keys())
    }
    assert retrying == set(SECTIONS)


@pytest.mark.parametrize("kind", sorted(SECTIONS))
@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"retries": -1}, "retries: expected a whole number from 0 to 100, got -1"),
        ({"retries": 101}, "retries: expected a whole number from 0 to 100, got 101"),
        ({"retries": True}, "retries: expected a whole number from 0 to 100, got true"),
        ({"backoff": "1s"}, "backoff: expected a mapping with initial or max, got '1s'"),
        (
            {"backoff": {"initial": "0s"}},
            "backoff.initial: expected a duration longer than 0s, got '0s'",
        ),
        (
            {"backoff": {"max": "-1s"}},
            "backoff.max: expected a non-negative duration like 500ms, 10s, 5m or 1h, got '-1s'",
        ),
        (
            {"backoff": {"initial": "10s", "max": "1s"}},
            "backoff.max: expected initial at most max, got initial 10s and max 1s",
        ),
        (
            {"backoff": {"initial": "1m"}},
            "backoff.initial: expected initial at most max, got initial 1m and max 30s",
        ),
        (
            {"backoff": {"maximum": "1s"}},
            "backoff.maximum: unknown key 'maximum': did you mean 'max'?",
        ),
    ],
)
def test_bad_retry_keys(base: Path, kind: str, keys: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(gaia_yaml(kind, {**SECTIONS[kind], **keys}), base_dir=base)
    [issue] = info.value.errors
    assert f"{issue.path}: {issue.message}" == f"functions.hello.triggers[0].{kind}.{expected}"


@pytest.mark.parametrize("kind", sorted(SECTIONS))
def test_defaults_and_a_partial_backoff(base: Path, kind: str) -> None:
    def config(**keys: object) -> Any:
        text = gaia_yaml(kind, {**SECTIONS[kind], **keys})
        [trigger] = parse_config(text, base_dir=base).functions["hello"].triggers
        return trigger.config

    plain = config()
    assert (plain.retries, plain.backoff) == (2, BackoffConfig())
    assert config(backoff={"max": "5s"}).backoff == BackoffConfig(max_s=5.0)
    assert config(backoff={"initial": "2s"}).backoff == BackoffConfig(initial_s=2.0)
    assert BackoffConfig().policy().max_s == 30.0
