"""The url runtime's settings (gaia.yaml, `runtime: url`, no `code:`) against the section
contract, the figures the README documents, and what a revision's digest holds of them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from configkit.model import ConfigModel
from gateway import bundles
from gateway.config import ConfigError, RevisionConfig, parse_config
from runtime_adapters import registry
from runtime_adapters.settings import MAX_CONCURRENCY
from runtime_adapters.url import settings as url_settings
from runtime_adapters.url.settings import EndpointUrl, Health, Outlier, UrlSettings
from tests.configkit.section_contract import SectionContract
from tests.triggers.config_kit import make_base


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return make_base(tmp_path)


class TestUrlSettings(SectionContract):
    minimal: ClassVar[Mapping[str, object]] = {"urls": ["http://10.0.0.7:8080"]}
    full: ClassVar[Mapping[str, object]] = {
        "urls": ["http://users-r3.default.svc:8080", "http://10.0.0.7"],
        "outlier": {"consecutive_failures": 3, "cooldown": "1m"},
        "concurrency": 20,
        # last: the contract finds a key's line by its name, and this one holds a timeout
        "timeout": "2s",
        "health": {"path": "/ready", "interval": "2s", "timeout": "500ms"},
    }

    @property
    def model(self) -> type[ConfigModel]:
        return registry.kind("url").settings

    @property
    def prefix(self) -> str:
        return "functions.hello"

    def document(self, body: object) -> dict[str, object]:
        assert isinstance(body, dict)
        return {"functions": {"hello": {"runtime": "url", **body}}}

    def section(self, base: Path, body: object) -> ConfigModel:
        function = parse_config(self.text(body), base_dir=base).functions["hello"]
        assert function.settings.runtime == "url"
        assert function.code is None  # nothing to bundle
        return function.settings.settings


def test_the_registry_names_the_runtime_and_it_needs_no_code() -> None:
    kind = registry.kind("url")
    assert (kind.name, kind.settings, kind.needs_code) == ("url", UrlSettings, False)
    assert registry.chosen("url") is kind
    assert "url" not in registry.PLANNED


def test_the_documented_defaults() -> None:
    settings = UrlSettings.from_dict({"urls": "http://10.0.0.7"})
    # a Kubernetes probe's periodSeconds and timeoutSeconds; a TCP check without a path
    assert settings.health == Health(path=None, interval_s=10.0, timeout_s=1.0)
    # Envoy outlier detection's consecutive_5xx and base_ejection_time
    assert settings.outlier == Outlier(consecutive_failures=5, cooldown_s=30.0)
    assert (settings.timeout_s, settings.concurrency) == (10.0, 100)
    assert url_settings.CONCURRENCY == 100 and MAX_CONCURRENCY == 1000
    assert settings.urls == (EndpointUrl(host="10.0.0.7", port=80),)


def test_health_is_a_path_or_a_mapping_and_its_timeout_never_passes_its_interval() -> None:
    def health(raw: object) -> Health:
        return UrlSettings.from_dict({"urls": ["http://a"], "health": raw}).health

    assert health("/healthz") == Health(path="/healthz", interval_s=10.0, timeout_s=1.0)
    assert health({"interval": "5s"}) == Health(path=None, interval_s=5.0, timeout_s=1.0)
    # an interval shorter than the default timeout shortens the timeout with it
    assert health({"interval": "200ms"}) == Health(path=None, interval_s=0.2, timeout_s=0.2)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("http://10.0.0.7:8080", ["http://10.0.0.7:8080"]),
        ("http://Users.Default.SVC:8080/", ["http://users.default.svc:8080"]),
        ("http://users", ["http://users:80"]),
        ("HTTP://[::1]:9000", ["http://[::1]:9000"]),
        (["http://a:1", "http://b:1", "http://a:2"], ["http://a:1", "http://b:1", "http://a:2"]),
    ],
)
def test_urls_are_stored_as_scheme_host_and_port(raw: object, stored: list[str]) -> None:
    settings = UrlSettings.from_dict({"urls": raw})
    assert settings.to_dict()["urls"] == stored
    assert UrlSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings


EXPECTED = "expected an http:// URL with a host and an optional port, like"
LIST = "expected a list of http:// URLs like [http://users.default.svc:8080]"


def url_issues(base: Path, urls: object) -> list[str]:
    text = json.dumps({"functions": {"users": {"runtime": "url", "urls": urls}}})
    with pytest.raises(ConfigError) as caught:
        parse_config(text, base_dir=base)
    return [f"{issue.path}: {issue.message}" for issue in caught.value.errors]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://a", "https is not supported"),
        ("ftp://a", "not http://"),
        ("a:8080", "not http://"),
        ("http://a/api", "it has a path (/api); a request keeps the path it came with"),
        ("http://u:p@a", "it holds credentials"),
        ("http://a/?x=1", "it has a query or fragment"),
        ("http://a?", "it has a query or fragment"),
        ("http://a#top", "it has a query or fragment"),
        ("http://a:0", "its port is not 1 to 65535"),
        ("http://a:65536", "its port is not 1 to 65535"),
        ("http://a:http", "its port is not 1 to 65535"),
        ("http://", "no host"),
        ("http://bad_host", "'bad_host' is no host name or IP"),
        ("http://-a.b", "'-a.b' is no host name or IP"),
        ("http://[::1", "Invalid IPv6 URL"),
    ],
)
def test_a_bad_url_is_refused_naming_it_and_why(base: Path, url: str, why: str) -> None:
    message = f"{EXPECTED} http://users.default.svc:8080, got {url!r}: {why}"
    assert url_issues(base, url) == [f"functions.users.urls: {message}"]
    assert url_issues(base, ["http://a", url]) == [f"functions.users.urls[1]: {message}"]


@pytest.mark.parametrize(
    ("urls", "message"),
    [
        ([], f"functions.users.urls: {LIST}, got an empty list"),
        (8080, f"functions.users.urls: {LIST}, got 8080"),
        (None, f"functions.users.urls: {LIST}, got nothing"),
        (
            ["http://a", 7],
            f"functions.users.urls[1]: {EXPECTED} http://users.default.svc:8080, got 7",
        ),
        (
            ["http://a", "http://b", "http://A:80"],
            "functions.users.urls[2]: expected each URL once, got http://a:80 again",
        ),
    ],
)
def test_a_bad_list_of_urls_is_refused_naming_what_is_wrong(
    base: Path, urls: object, message: str
) -> None:
    assert url_issues(base, urls) == [message]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"health": {"interval": "1s", "timeout": "2s"}},
            "functions.users.health.timeout: expected at most the interval (1s), so checks"
            " do not overlap, got 2s",
        ),
        (
            {"health": "healthz"},
            "functions.users.health.path: expected a URL path like /healthz, got 'healthz'",
        ),
        (
            {"health": {"interval": "2h"}},
            "functions.users.health.interval: expected a duration longer than 0s, at most 1h,"
            " got '2h'",
        ),
        (
            {"health": {"interval": "0s"}},
            "functions.users.health.interval: expected a duration longer than 0s, at most 1h,"
            " got '0s'",
        ),
        (
            {"timeout": "16m"},
            "functions.users.timeout: expected a duration longer than 0s, at most 15m, got '16m'",
        ),
        (
            {"concurrency": 1001},
            "functions.users.concurrency: expected a whole number from 1 to 1000, got 1001",
        ),
        (
            {"outlier": {"consecutive_failures": 1001}},
            "functions.users.outlier.consecutive_failures: expected a whole number from 1 to"
            " 1000, got 1001",
        ),
        (
            {"outlier": {"consecutive_failures": 0}},
            "functions.users.outlier.consecutive_failures: expected a whole number from 1 to"
            " 1000, got 0",
        ),
        (
            {"outlier": {"cooldown": "0s"}},
            "functions.users.outlier.cooldown: expected a duration longer than 0s, at most 1h,"
            " got '0s'",
        ),
        (
            {"code": "functions/hello"},
            "functions.users.code: expected no code: runtime url runs none here",
        ),
        (
            {"memory": "1Gi"},
            "functions.users.memory: memory is for runtime container, but this function runs"
            " on url",
        ),
    ],
)
def test_other_keys_are_checked_at_their_path(
    base: Path, body: dict[str, object], message: str
) -> None:
    text = json.dumps({"functions": {"users": {"runtime": "url", "urls": ["http://a"], **body}}})
    with pytest.raises(ConfigError) as caught:
        parse_config(text, base_dir=base)
    assert [f"{issue.path}: {issue.message}" for issue in caught.value.errors] == [message]


def test_urls_belong_to_the_url_runtime(base: Path) -> None:
    text = "functions:\n  hello:\n    code: functions/hello\n    urls: [http://a]\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, base_dir=base)
    assert str(caught.value) == (
        "gaia.yaml: functions.hello.urls: urls is for runtime url, but this function runs"
        " on python (line 4)"
    )


def test_the_spec_carries_the_settings_and_a_change_of_urls_is_a_new_digest(
    tmp_path: Path,
) -> None:
    settings = UrlSettings.from_dict({"urls": ["http://a:1"], "concurrency": 3, "timeout": "2s"})
    spec = settings.spec(function="users", revision=2, digest="d", bundle_dir=tmp_path)
    assert (spec.runtime, spec.concurrency, spec.timeout_s) == ("url", 3, 2.0)
    assert UrlSettings.from_dict(spec.settings) == settings

    def digest(**changes: object) -> str:
        raw = {"urls": ["http://a:1"], **changes}
        config = RevisionConfig(runtime="url", settings=UrlSettings.from_dict(raw))
        return bundles.digest(None, config.to_dict())

    assert digest() == digest(urls="http://A:1/")  # the same endpoint written otherwise
    assert digest() != digest(urls=["http://a:2"])
    assert digest() != digest(urls=["http://a:1", "http://b:1"])
    assert digest() != digest(health="/healthz")
    assert digest() != digest(outlier={"cooldown": "5s"})
