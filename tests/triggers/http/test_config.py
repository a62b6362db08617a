"""`- http: {path, methods, host}` in gaia.yaml: the shared config contract, and path
patterns and hosts checked at load by the route table's own rules."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from gateway.config import ConfigError, parse_config
from tests.triggers.config_contract import TriggerConfigContract, gaia_yaml


class TestHttpConfig(TriggerConfigContract):
    kind = "http"
    minimal: ClassVar[Mapping[str, object]] = {"path": "/hello"}
    full: ClassVar[Mapping[str, object]] = {
        "path": "/hello/{name}",
        "methods": ["GET", "POST"],
        "host": "api.example.com",
    }


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"path": "/hello/{name"},
            "path: invalid pattern '/hello/{name': unbalanced braces in '{name'",
        ),
        (
            {"path": "/a/{x:path}/b"},
            "path: invalid pattern '/a/{x:path}/b': {x:path} must be the last segment",
        ),
        ({"path": "/a//b"}, "path: invalid pattern '/a//b': empty segment ('//')"),
        (
            {"path": "/a/{x}/{x}"},
            "path: invalid pattern '/a/{x}/{x}': parameter 'x' appears twice",
        ),
        (
            {"path": "/", "host": "bad host!"},
            "host: invalid host 'bad host!': expected a DNS name or IP address",
        ),
    ],
)
def test_patterns_and_hosts_are_checked_at_load_with_file_and_line(
    base: Path, body: dict[str, object], expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(gaia_yaml("http", body), file="deploy/gaia.yaml", base_dir=base)
    [issue] = info.value.errors
    assert str(issue) == f"functions.hello.triggers[0].http.{expected} (line {issue.line})"
    assert issue.line == (7 if "host" in body else 6)
    assert str(info.value).startswith("deploy/gaia.yaml: functions.hello.triggers[0].http.")


def test_a_valid_host_keeps_its_case_folded_and_its_port(base: Path) -> None:
    [trigger] = (
        parse_config(
            gaia_yaml("http", {"path": "/", "host": "API.example.com:8080"}), base_dir=base
        )
        .functions["hello"]
        .triggers
    )
    assert trigger.to_dict()["host"] == "api.example.com:8080"
