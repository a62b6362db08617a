"""What every trigger kind's gaia.yaml section does, written once: each kind's
tests/triggers/<kind>/test_config.py subclasses `TriggerConfigContract` with the
smallest valid section and one that sets every key.

Beside what every section does (tests/configkit/section_contract.py): the registry finds
the kind by its package, the stored spec is the section plus the target, a section that
is no mapping lists every key, and alias, revision and tag pins work as for every kind.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest
import yaml

from configkit.model import ConfigModel
from configkit.words import listing
from gateway.config import ConfigError, Trigger, parse_config
from routing.names import Target
from tests.configkit.section_contract import SectionContract
from triggers import registry

# The keys every trigger takes beside its kind's: the target pins and its rate limit.
_PINS = ("alias", "revision", "tag", "rate_limit")


def gaia_yaml(kind: str, body: object) -> str:
    """gaia.yaml with function `hello` (code in functions/hello) and one `- KIND: body`."""
    return yaml.safe_dump(_document(kind, body), sort_keys=False)


def _document(kind: str, body: object) -> dict[str, object]:
    return {"functions": {"hello": {"code": "functions/hello", "triggers": [{kind: body}]}}}


class TriggerConfigContract(SectionContract):
    kind: ClassVar[str]

    @property
    def model(self) -> type[ConfigModel]:
        return registry.kind(self.kind).config

    @property
    def prefix(self) -> str:
        return f"functions.hello.triggers[0].{self.kind}"

    def document(self, body: object) -> dict[str, object]:
        return _document(self.kind, body)

    def triggers(self, base: Path, body: object) -> tuple[Trigger, ...]:
        return parse_config(self.text(body), base_dir=base).functions["hello"].triggers

    def section(self, base: Path, body: object) -> ConfigModel:
        [trigger] = self.triggers(base, body)
        return trigger.config

    def test_the_registry_finds_the_kind_by_its_package(self) -> None:
        kind = registry.kind(self.kind)
        assert registry.PACKAGES[self.kind] == f"triggers.{self.kind}"
        assert kind.name == self.kind and kind.description
        assert self.kind in registry.names()

    def test_the_stored_spec_is_the_section_and_the_target(self, base: Path) -> None:
        [trigger] = self.triggers(base, dict(self.full))
        stored = json.loads(json.dumps(trigger.to_dict()))
        assert stored.pop("alias") == "default"
        assert stored == json.loads(json.dumps(trigger.config.to_dict()))
        assert registry.kind(self.kind).parse({**stored, "alias": "default"}) == trigger.config
        assert trigger.target == Target(function="hello", alias="default")

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
