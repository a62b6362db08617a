"""What every section of gaia.yaml that a plug-in's config model reads does, written once:
a trigger kind's `- KIND: {...}` (tests/triggers/config_contract.py) and a runtime's
settings beside `code:` (tests/runtime_adapters/python/test_settings.py) subclass it.

Every key has a default or is required, every key survives the stored form, a bad
value is an issue at its own key path and line, and an unknown key gets the closest
known one suggested.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from configkit.model import ConfigModel
from gateway.config import ConfigError, ConfigIssue, parse_config

# A value no key takes: a list holding a list.
WRONG = [["?"]]


class SectionContract(abc.ABC):
    # The required keys only; the smallest valid section.
    minimal: ClassVar[Mapping[str, object]]
    # Every key set, each to a value other than its default.
    full: ClassVar[Mapping[str, object]]
    # Keys `full` leaves out because they exclude one it sets (kafka's topic/topics).
    instead: ClassVar[tuple[str, ...]] = ()
    # Keys that take any JSON value, so no value is wrong for them.
    any_value: ClassVar[tuple[str, ...]] = ()
    # Keys whose default comes from other keys (kafka's topics from topic).
    derived: ClassVar[tuple[str, ...]] = ()

    @property
    @abc.abstractmethod
    def model(self) -> type[ConfigModel]: ...

    @property
    @abc.abstractmethod
    def prefix(self) -> str:
        """Where the section sits in the document: `functions.hello`."""

    @abc.abstractmethod
    def document(self, body: object) -> dict[str, object]:
        """A gaia.yaml document (function `hello`, code in functions/hello) holding
        `body` as the section."""

    @abc.abstractmethod
    def section(self, base: Path, body: object) -> ConfigModel:
        """The model the section of a valid document parses into."""

    def text(self, body: object) -> str:
        return yaml.safe_dump(self.document(body), sort_keys=False)

    def issues(self, base: Path, body: object) -> list[ConfigIssue]:
        with pytest.raises(ConfigError) as info:
            parse_config(self.text(body), base_dir=base)
        return info.value.errors

    def test_every_key_is_required_or_has_a_default(self, base: Path) -> None:
        assert set(self.minimal) <= set(self.model.yaml_keys())
        parsed = self.section(base, dict(self.minimal))
        for name, field in self.model.model_fields.items():
            key = field.validation_alias if isinstance(field.validation_alias, str) else name
            if key in self.minimal:
                without = {k: v for k, v in self.minimal.items() if k != key}
                paths = [issue.path for issue in self.issues(base, without)]
                assert paths == [f"{self.prefix}.{key}"], f"{key} is required"
            elif key not in self.derived:
                default = field.get_default(call_default_factory=True)
                assert getattr(parsed, name) == default, f"{key} defaults to {default!r}"

    def test_the_full_section_sets_every_key_to_something_else_than_its_default(
        self, base: Path
    ) -> None:
        assert set(self.full) | set(self.instead) == set(self.model.yaml_keys())
        defaults = self.section(base, dict(self.minimal)).to_dict()
        changed = self.section(base, dict(self.full)).to_dict()
        for key in self.full:
            if key not in self.minimal:
                assert changed.get(key) != defaults.get(key), f"{key} is set to its default"

    def test_every_key_survives_the_stored_form(self, base: Path) -> None:
        parsed = self.section(base, dict(self.full))
        stored = json.loads(json.dumps(parsed.to_dict()))
        assert set(stored) <= set(self.model.yaml_keys())
        assert self.model.from_dict(stored) == parsed
        assert self.model.from_dict(stored).to_dict() == stored

    def test_a_bad_value_is_an_issue_at_its_key_with_its_line(self, base: Path) -> None:
        for key in self.full:
            if key in self.any_value:
                continue
            body = {**self.full, key: WRONG}
            lines = [line.strip() for line in self.text(body).splitlines()]
            line = next(n for n, text in enumerate(lines, 1) if text.startswith(f"{key}:"))
            issues = self.issues(base, body)
            assert issues, f"{key} takes {WRONG!r}"
            for issue in issues:
                assert issue.path.startswith(f"{self.prefix}.{key}"), issue
                assert "expected" in issue.message, issue
                assert issue.line is not None and line <= issue.line <= line + 2, issue

    def test_an_unknown_key_gets_the_closest_known_one(self, base: Path) -> None:
        for key in self.model.yaml_keys():
            typo = key + key[-1]
            [issue] = self.issues(base, {**self.minimal, typo: 1})
            assert str(issue).startswith(
                f"{self.prefix}.{typo}: unknown key {typo!r}: did you mean {key!r}? (line "
            )
