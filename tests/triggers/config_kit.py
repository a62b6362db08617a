"""What the tests of each trigger kind's gaia.yaml section share: a function to attach
triggers to, parsing, and issues as `path: message`."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

import pytest
import yaml

from gateway.config import ConfigError, GaiaFile, Trigger, parse_config

T = TypeVar("T")

# gaia.yaml up to a function's trigger list: `hello` with alias `prod`, whose traffic
# tags `latest` as `canary`.
WITH_PROD = """\
functions:
  hello:
    code: ./functions/hello
    aliases:
      prod:
        traffic:
          - {revision: 1, percent: 100}
          - {revision: latest, percent: 0, tag: canary}
    triggers:
"""

# Aliases for the pins; `b` is set in one alias only.
ALIASES = {
    "prod": {
        "traffic": [{"revision": 1, "percent": 100}, {"revision": 2, "percent": 0, "tag": "b"}]
    },
}


def make_base(tmp_path: Path) -> Path:
    """A directory with the code of function `hello` at functions/hello."""
    (tmp_path / "functions" / "hello").mkdir(parents=True)
    (tmp_path / "functions" / "hello" / "main.py").write_text("def handler(e, c): return 'hi'\n")
    return tmp_path


def parse(base: Path, text: str) -> GaiaFile:
    return parse_config(textwrap.dedent(text), base_dir=base)


def document(kind: str, triggers: tuple[dict[str, object], ...], **keys: object) -> str:
    """gaia.yaml with function `hello` and `- KIND: {...}` for each of `triggers`."""
    function = {
        "code": "functions/hello",
        "triggers": [{kind: trigger} for trigger in triggers],
        **keys,
    }
    return yaml.safe_dump({"functions": {"hello": function}})


def triggers_of(
    base: Path, kind: str, *triggers: dict[str, object], **keys: object
) -> list[Trigger]:
    """The parsed triggers of `hello`, each checked to be of `kind`."""
    parsed = parse(base, document(kind, triggers, **keys)).functions["hello"].triggers
    assert all(trigger.kind == kind for trigger in parsed)
    return list(parsed)


def one_config(base: Path, kind: str, model: type[T], body: dict[str, object]) -> T:
    """The config of `hello`'s one trigger `- KIND: body`, checked to be a `model`."""
    [trigger] = triggers_of(base, kind, body)
    return config_of(trigger, model)


def config_of(trigger: Trigger, model: type[T]) -> T:
    """The trigger's config, checked to be a `model`."""
    assert isinstance(trigger.config, model)
    return trigger.config


def issues_in(base: Path, text: str) -> list[str]:
    """Every issue of a gaia.yaml text as `path: message`, without the line."""
    with pytest.raises(ConfigError) as info:
        parse(base, text)
    return [str(replace(issue, line=None, column=None)) for issue in info.value.errors]


def issues_of(base: Path, kind: str, *triggers: dict[str, object]) -> list[str]:
    """Every issue of `hello` with ALIASES and these triggers, as `path: message`."""
    return issues_in(base, document(kind, triggers, aliases=ALIASES))
