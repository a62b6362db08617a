"""What every trigger kind's gaia.yaml section does, written once: each kind's
tests/triggers/<kind>/test_config.py subclasses `TriggerConfigContract` with the
smallest valid section and one that sets every key.

Every key has a default or is required, every key survives the stored form, a bad
value is an issue at its own key path and line, an unknown key gets the closest known
one suggested, and the registry finds the kind by its package.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from configkit.model import ConfigModel
from configkit.words import listing
from gateway.config import ConfigError, ConfigIssue, Trigger, parse_config
from routing.names import Target
from triggers import registry

# A value no key takes: a list holding a list.
_WRONG = [["?"]]
_PINS = ("alias", "revision", "tag")


def gaia_yaml(kind: str, body: object) -> str:
    """gaia.yaml with function `hello` (code in functions/hello) and one `- KIND: body`."""
    document = {"functions": {"hello": {"code": "functions/hello", "triggers": [{kind: body}]}}}
    return yaml.safe_dump(document, sort_keys=False)


class TriggerConfigContract:
    kind: ClassVar[str]
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
    def model(self) -> type[ConfigModel]:
        return registry.kind(self.kind).config

    @property
    def prefix(self) -> str:
        return f"functions.hello.triggers[0].{self.kind}"

    def triggers(self, base: Path, body: object) -> tuple[Trigger, ...]:
        return parse_config(gaia_yaml(self.kind, body), base_dir=base).functions["hello"].triggers

    def issues(self, base: Path, body: object) -> list[ConfigIssue]:
        with pytest.raises(ConfigError) as info:
            self.triggers(base, body)
        return info.value.errors

    def test_the_registry_finds_the_kind_by_its_package(self) -> None:
        kind = registry.kind(self.kind)
        assert registry.PACKAGES[self.kind] == f"triggers.{self.kind}"
        assert kind.name == self.kind and kind.description
        assert self.kind in registry.names()

    def test_every_key_is_required_or_has_a_default(self, base: Path) -> None:
        keys = self.model.yaml_keys()
        assert set(self.minimal) <= set(keys)
        parsed = self.model.model_validate(self.minimal)
        for name, field in self.model.model_fields.items():
            key = field.validation_alias if isinstance(field.validation_alias, str) else name
            if key in self.minimal:
                without = {k: v for k, v in self.minimal.items() if k != key}
                paths = [issue.path for issue in self.issues(base, without)]
                assert paths == [f"{self.prefix}.{key}"], f"{key} is required"
            elif key not in self.derived:
                default = field.get_default(call_default_factory=True)
                assert getattr(parsed, name) == default, f"{key} defaults to {default!r}"

    def test_the_full_section_sets_every_key_to_something_else_than_its_default(self) -> None:
        assert set(self.full) | set(self.instead) == set(self.model.yaml_keys())
        defaults = self.model.model_validate(self.minimal).to_dict()
        changed = self.model.model_validate(self.full).to_dict()
        for key in self.full:
            if key not in self.minimal:
                assert changed.get(key) != defaults.get(key), f"{key} is set to its default"

    def test_every_key_survives_the_stored_form(self, base: Path) -> None:
        [trigger] = self.triggers(base, dict(self.full))
        stored = json.loads(json.dumps(trigger.to_dict()))
        assert stored.pop("alias") == "default"
        assert set(stored) <= set(self.model.yaml_keys())
        assert self.model.from_dict(stored) == trigger.config
        assert registry.kind(self.kind).parse({**stored, "alias": "default"}) == trigger.config
        assert trigger.target == Target(function="hello", alias="default")
        assert self.model.from_dict(trigger.config.to_dict()).to_dict() == stored

    def test_a_bad_value_is_an_issue_at_its_key_with_its_line(self, base: Path) -> None:
        for key in self.full:
            if key in self.any_value:
                continue
            body = {**self.full, key: _WRONG}
            lines = [line.strip() for line in gaia_yaml(self.kind, body).splitlines()]
            line = next(n for n, text in enumerate(lines, 1) if text.startswith(f"{key}:"))
            issues = self.issues(base, body)
            assert issues, f"{key} takes {_WRONG!r}"
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

    def test_a_section_that_is_no_mapping_lists_every_key(self, base: Path) -> None:
        [issue] = self.issues(base, ["x"])
        keys = listing([*self.model.yaml_keys(), *_PINS])
        assert (issue.path, issue.message) == (
            self.prefix,
            f"expected a mapping with {keys}, got a list",
        )

    def test_an_empty_section_names_each_required_key(self, base: Path) -> None:
        text = textwrap.dedent(
            f"""\
            functions:
              hello:
                code: functions/hello
                triggers:
                  - {self.kind}: {{}}
            """
        )
        with pytest.raises(ConfigError) as info:
            parse_config(text, base_dir=base)
        assert [issue.path for issue in info.value.errors] == [
            f"{self.prefix}.{key}" for key in self.minimal
        ]
        assert all(
            issue.line == 5 and "got nothing" in issue.message for issue in info.value.errors
        )

    def apart(self, n: int) -> dict[str, object]:
        """A minimal section for the n-th of several triggers of the kind on one source,
        with what it must have to itself (a consumer group) of its own."""
        return dict(self.minimal)

    def test_alias_revision_and_tag_pins_work_as_for_every_kind(self, base: Path) -> None:
        aliases = {
            "prod": {
                "traffic": [
                    {"revision": 1, "percent": 100},
                    {"revision": 2, "percent": 0, "tag": "b"},
                ]
            }
        }
        pins: list[dict[str, object]] = [{"alias": "prod"}, {"revision": 3}, {"tag": "b"}]
        function: dict[str, Any] = {
            "code": "functions/hello",
            "aliases": aliases,
            "triggers": [{self.kind: {**self.apart(n), **pin}} for n, pin in enumerate(pins)],
        }
        document = yaml.safe_dump({"functions": {"hello": function}})
        triggers = parse_config(document, base_dir=base).functions["hello"].triggers
        assert [t.target for t in triggers] == [
            Target(function="hello", alias="prod"),
            Target(function="hello", revision=3),
            Target(function="hello", alias="prod", tag="b"),
        ]
        assert [t.to_dict().get("tag") for t in triggers] == [None, None, "b"]
