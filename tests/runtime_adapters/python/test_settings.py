"""The python runtime's settings (gaia.yaml beside `code:`) against the section contract,
and what the registry and the revision digest make of them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from configkit.issues import ConfigError
from configkit.model import ConfigModel
from gateway.config import RevisionConfig, parse_config
from runtime_adapters import registry
from runtime_adapters.python.settings import PythonSettings, interface_of
from tests.configkit.section_contract import SectionContract
from tests.triggers.config_kit import make_base


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return make_base(tmp_path)


class TestPythonSettings(SectionContract):
    minimal: ClassVar[Mapping[str, object]] = {}
    full: ClassVar[Mapping[str, object]] = {
        "handler": "app.main:api",
        "interface": "asgi",
        "env": {"GREETING": "hi", "PORT": "8080"},
        "timeout": "1m",
        "memory": "1Gi",
        "concurrency": 2,
        "pool": {"min": 0, "max": 3, "idle": "30s", "queue": 8, "queue_timeout": "20s"},
        "network": False,
    }

    @property
    def model(self) -> type[ConfigModel]:
        return registry.kind("python").settings

    @property
    def prefix(self) -> str:
        return "functions.hello"

    def document(self, body: object) -> dict[str, object]:
        assert isinstance(body, dict)
        return {"functions": {"hello": {"code": "functions/hello", **body}}}

    def section(self, base: Path, body: object) -> ConfigModel:
        function = parse_config(self.text(body), base_dir=base).functions["hello"]
        assert function.settings.runtime == "python"
        return function.settings.settings


def test_the_registry_names_the_runtime_and_its_settings() -> None:
    kind = registry.kind("python")
    assert (kind.name, kind.settings, kind.needs_code) == ("python", PythonSettings, True)
    assert registry.chosen(None) is kind and registry.chosen("python") is kind
    assert registry.chosen("cobol") is None and registry.chosen(3) is None


def test_the_stored_revision_config_keeps_its_keys_sorted_for_the_digest(base: Path) -> None:
    settings = PythonSettings.model_validate(TestPythonSettings.full)
    config = RevisionConfig(runtime="python", settings=settings)
    stored = config.to_dict()
    assert list(stored) == sorted(stored)
    assert stored["runtime"] == "python" and list(stored["env"]) == ["GREETING", "PORT"]  # type: ignore[call-overload]
    assert RevisionConfig.from_dict(json.loads(json.dumps(stored))) == config


def _web(base: Path, lines: str) -> PythonSettings:
    text = "functions:\n  web:\n    code: functions/hello\n" + lines
    settings = parse_config(text, base_dir=base).functions["web"].settings.settings
    assert isinstance(settings, PythonSettings)
    return settings


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (
            "    interface: asgi\n    handler: main.handler\n",
            "functions.web.handler: expected module:app like main:app for interface asgi,"
            " got 'main.handler' (line 5)",
        ),
        (
            "    interface: wsgi\n",
            "functions.web.interface: expected a handler: module:app like main:app beside"
            " it, got no handler (the default, main.handler, names a function) (line 4)",
        ),
        (
            "    handler: main:app\n",
            "functions.web.handler: expected module.function like main.handler, got"
            " 'main:app': module:app names a whole web app; add interface: asgi or wsgi"
            " (line 4)",
        ),
        (
            "    interface: asgi\n    handler: main:app:x\n",
            "functions.web.handler: expected module.function like main.handler or"
            " pkg.app.handler (module:app like main:app with interface asgi or wsgi),"
            " got 'main:app:x' (line 5)",
        ),
        (
            "    interface: django\n    handler: main:app\n",
            "functions.web.interface: expected function, asgi or wsgi, got 'django' (line 4)",
        ),
    ],
)
def test_a_handler_that_does_not_fit_the_interface_is_an_error_at_its_key_and_line(
    base: Path, lines: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _web(base, lines)
    assert str(caught.value) == f"gaia.yaml: {message}"


def test_an_app_reference_may_be_dotted_on_both_sides(base: Path) -> None:
    settings = _web(base, "    interface: wsgi\n    handler: pkg.web:api.app\n")
    spec = settings.spec(function="web", revision=1, digest="d", bundle_dir=base)
    assert (interface_of(spec), spec.handler) == ("wsgi", "pkg.web:api.app")


def test_interface_function_is_the_default_and_keeps_the_stored_form(base: Path) -> None:
    plain = _web(base, "    handler: main.handler\n")
    spelled = _web(base, "    handler: main.handler\n    interface: function\n")
    # Revisions published before the key existed keep their digests.
    assert plain.to_dict() == spelled.to_dict() and "interface" not in plain.to_dict()
    assert plain.interface is spelled.interface is None
