"""The limits' gaia.yaml keys: where they go, their defaults, and their errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from gateway.config import ConfigError, RevisionConfig, parse_config
from limits.spec import CircuitSpec, ConcurrencyLimit, RateLimit

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "main.py").write_text("def handler(e, c): return 'hi'\n")
    return tmp_path


def hello(base: Path, **keys: object) -> dict[str, object]:
    return {"functions": {"hello": {"code": "fn", **keys}}}


def same(got: BaseModel | None, expected: BaseModel) -> bool:
    """Equal values, whichever keys were written (pydantic's == also compares those)."""
    return got is not None and got.model_dump() == expected.model_dump()


def issues(base: Path, document: object) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(yaml.safe_dump(document), base_dir=base)
    return [f"{issue.path}: {issue.message}" for issue in info.value.errors]


def test_every_key_where_the_readme_puts_it(base: Path) -> None:
    text = f"""
    functions:
      hello:
        code: fn
        circuit: {{failures: 3, error_rate: 25%, window: 5s, min_requests: 10, cooldown: 2s}}
        concurrency_limit: {{max: 40, redis: {REDIS}}}
        aliases:
          prod:
            traffic: [{{revision: latest, percent: 100}}]
            fallback: 1
            rate_limit: {{rps: 100, burst: 200, redis: {REDIS}}}
        triggers:
          - http: {{path: /hello, alias: prod, rate_limit: {{rps: 2.5}}}}
    """
    fn = parse_config(textwrap.dedent(text), base_dir=base).functions["hello"]
    limits = fn.settings.limits
    assert same(
        limits.circuit,
        CircuitSpec.model_validate(
            {"failures": 3, "error_rate": "25%", "window": 5, "min_requests": 10, "cooldown": 2}
        ),
    )
    assert same(limits.concurrency_limit, ConcurrencyLimit(max=40, redis=REDIS))
    prod = fn.aliases["prod"]
    assert prod.fallback == 1
    assert same(prod.rate_limit, RateLimit(rps=100, burst=200, redis=REDIS))
    [trigger] = fn.triggers
    assert same(trigger.rate_limit, RateLimit(rps=2.5))
    # A trigger's limit is kept in its stored spec; the kind's own keys are untouched.
    assert trigger.to_dict()["rate_limit"] == {"rps": 2.5}
    # The function's limits are revision settings: in the digest's config and back.
    stored = fn.settings.to_dict()
    assert stored["circuit"] == {
        "failures": 3,
        "error_rate": "25%",
        "window": 5.0,
        "min_requests": 10,
        "cooldown": 2.0,
    }
    assert RevisionConfig.from_dict(stored) == fn.settings


def test_defaults(base: Path) -> None:
    assert same(
        CircuitSpec(),
        CircuitSpec.model_validate(
            {"failures": 5, "error_rate": "50%", "window": 10, "min_requests": 20, "cooldown": 30}
        ),
    )
    assert RateLimit(rps=2.5).capacity == 3  # one second's worth, rounded up
    assert RateLimit(rps=0.2).capacity == 1
    assert RateLimit(rps=10, burst=4).capacity == 4
    fn = parse_config(yaml.safe_dump(hello(base, circuit={})), base_dir=base).functions["hello"]
    assert same(fn.settings.limits.circuit, CircuitSpec())
    # Without limits, a revision's stored config (and so its digest) is what it was.
    plain = parse_config(yaml.safe_dump(hello(base)), base_dir=base).functions["hello"]
    assert "circuit" not in plain.settings.to_dict()
    assert "concurrency_limit" not in plain.settings.to_dict()
    assert "rate_limit" not in plain.aliases["default"].to_dict()


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            {"concurrency_limit": {"max": 0}},
            "functions.hello.concurrency_limit.max: expected a whole number from 1 to 1000000,"
            " got 0",
        ),
        (
            {"concurrency_limit": {"redis": REDIS}},
            "functions.hello.concurrency_limit.max: expected a whole number from 1 to 1000000,"
            " got nothing",
        ),
        (
            {"concurrency_limit": {"max": 3, "redis": "localhost:6379"}},
            "functions.hello.concurrency_limit.redis: expected a Redis URL redis://host:port or"
            " redis://host:port/db (rediss:// for TLS; port 1 to 65535, no credentials) like"
            " redis://127.0.0.1:6379/0, got 'localhost:6379'",
        ),
        (
            {"circuit": {"error_rate": "150%"}},
            "functions.hello.circuit.error_rate: expected a percent above 0 and at most 100"
            " like 50% or 12.5%, got '150%'",
        ),
        (
            {"circuit": {"cooldown": "0s"}},
            "functions.hello.circuit.cooldown: expected a duration longer than 0s, at most 1h,"
            " got '0s'",
        ),
        (
            {"circuit": {"failure": 3}},
            "functions.hello.circuit.failure: unknown key 'failure': did you mean 'failures'?",
        ),
        (
            {"aliases": {"prod": {"rate_limit": {"rps": 0}}}},
            "functions.hello.aliases.prod.rate_limit.rps: expected requests per second, a number"
            " above 0 and at most 1000000, got 0",
        ),
        (
            {"aliases": {"prod": {"rate_limit": {"rps": 5, "burst": 1.5}}}},
            "functions.hello.aliases.prod.rate_limit.burst: expected a whole number from 1 to"
            " 10000000, got 1.5",
        ),
        (
            {"aliases": {"prod": {"fallback": "latest"}}},
            "functions.hello.aliases.prod.fallback: invalid revision 'latest': expected a"
            " positive integer (at most 2^63-1)",
        ),
        (
            {"triggers": [{"http": {"path": "/h", "rate_limit": {"rps": 1, "redis": 6379}}}]},
            "functions.hello.triggers[0].http.rate_limit.redis: expected a Redis URL"
            " redis://host:port or redis://host:port/db (rediss:// for TLS; port 1 to 65535,"
            " no credentials) like redis://127.0.0.1:6379/0, got 6379",
        ),
        (
            {"triggers": [{"http": {"path": "/h", "rate_limit": 10}}]},
            "functions.hello.triggers[0].http.rate_limit: expected a mapping with rps, burst"
            " or redis, got 10",
        ),
    ],
)
def test_errors_name_the_key(base: Path, keys: dict[str, object], expected: str) -> None:
    assert issues(base, hello(base, **keys)) == [expected]
