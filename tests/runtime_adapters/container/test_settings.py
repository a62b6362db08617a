"""The container runtime's settings (gaia.yaml beside `code:`) against the section
contract, and what the revision spec carries of them."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest

from configkit.model import ConfigModel
from gateway.config import parse_config
from runtime_adapters import registry
from runtime_adapters.container.settings import (
    READY_TIMEOUT_S,
    ContainerSettings,
    ImageRef,
    Readiness,
)
from tests.configkit.section_contract import SectionContract
from tests.triggers.config_kit import make_base


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return make_base(tmp_path)


class TestContainerSettings(SectionContract):
    minimal: ClassVar[Mapping[str, object]] = {"command": ["node", "server.js"]}
    full: ClassVar[Mapping[str, object]] = {
        "command": ["./serve", "--port-from-env"],
        "image": "oci-archive:image.tar",
        "env": {"GREETING": "hi"},
        "timeout": "1m",
        "memory": "1Gi",
        "concurrency": 2,
        "pool": {"min": 0, "max": 3, "idle": "30s", "queue": 8, "queue_timeout": "20s"},
        # last: the contract finds a key's line by its name, and this one holds a timeout
        "readiness": {"path": "/healthz", "timeout": "5s"},
    }

    @property
    def model(self) -> type[ConfigModel]:
        return registry.kind("container").settings

    @property
    def prefix(self) -> str:
        return "functions.hello"

    def document(self, body: object) -> dict[str, object]:
        assert isinstance(body, dict)
        return {"functions": {"hello": {"runtime": "container", "code": "functions/hello", **body}}}

    def section(self, base: Path, body: object) -> ConfigModel:
        function = parse_config(self.text(body), base_dir=base).functions["hello"]
        assert function.settings.runtime == "container"
        return function.settings.settings


def test_the_registry_names_the_runtime_and_its_settings() -> None:
    kind = registry.kind("container")
    assert (kind.name, kind.settings, kind.needs_code) == ("container", ContainerSettings, True)
    assert registry.chosen("container") is kind


def test_readiness_is_a_path_or_a_mapping_and_defaults_to_the_port() -> None:
    assert ContainerSettings.from_dict({"command": ["x"]}).readiness == Readiness(
        path=None, timeout_s=30.0
    )
    assert READY_TIMEOUT_S == 30.0
    assert ContainerSettings.from_dict({"command": ["x"], "readiness": "/up"}).readiness == (
        Readiness(path="/up", timeout_s=30.0)
    )


@pytest.mark.parametrize(
    ("raw", "ref"),
    [
        ("oci-archive:image.tar", ImageRef(transport="oci-archive", path="image.tar")),
        ("docker-archive:/srv/app.tar", ImageRef(transport="docker-archive", path="/srv/app.tar")),
        ("oci:layout", ImageRef(transport="oci", path="layout")),
    ],
)
def test_an_image_names_its_format_and_path(raw: str, ref: ImageRef) -> None:
    settings = ContainerSettings.from_dict({"image": raw})
    assert settings.image == ref and str(ref) == raw
    # a relative path is inside the code directory, an absolute one stays
    assert ref.source(Path("/bundle")) == (
        raw if ref.path.startswith("/") else f"{ref.transport}:/bundle/{ref.path}"
    )


def test_an_image_alone_is_enough_and_the_spec_carries_the_settings(tmp_path: Path) -> None:
    settings = ContainerSettings.from_dict({"image": "oci:layout", "concurrency": 3})
    spec = settings.spec(function="f", revision=2, digest="d", bundle_dir=tmp_path)
    assert (spec.runtime, spec.concurrency, spec.bundle_dir) == ("container", 3, tmp_path)
    assert ContainerSettings.from_dict(spec.settings) == settings
    assert spec.settings["image"] == "oci:layout"
