"""The python runtime's settings (gaia.yaml beside `code:`) against the section contract,
and what the registry and the revision digest make of them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from configkit.model import ConfigModel
from gateway.config import RevisionConfig, parse_config
from runtime_adapters import registry
from runtime_adapters.python.settings import PythonSettings
from tests.configkit.section_contract import SectionContract
from tests.triggers.config_kit import make_base


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return make_base(tmp_path)


class TestPythonSettings(SectionContract):
    minimal: ClassVar[Mapping[str, object]] = {}
    full: ClassVar[Mapping[str, object]] = {
        "handler": "app.main.run",
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
    assert registry.chosen("url") is None and registry.chosen(3) is None


def test_the_stored_revision_config_keeps_its_keys_sorted_for_the_digest(base: Path) -> None:
    settings = PythonSettings.model_validate(TestPythonSettings.full)
    config = RevisionConfig(runtime="python", settings=settings)
    stored = config.to_dict()
    assert list(stored) == sorted(stored)
    assert stored["runtime"] == "python" and list(stored["env"]) == ["GREETING", "PORT"]  # type: ignore[call-overload]
    assert RevisionConfig.from_dict(json.loads(json.dumps(stored))) == config
