"""YAML with positions: where each key sits in the text, so issues carry line numbers,
and each scalar as written, so an env value `1.10` stays `1.10`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from configkit.issues import ConfigError, ConfigIssue
from configkit.words import join as _join


@dataclass
class Source:
    """Where each key sits in the YAML text, so issues can carry line numbers."""

    lines: dict[str, int] = field(default_factory=dict)
    # Scalars as written: `1.10` and `on` stay themselves when an env value needs a string.
    scalars: dict[str, str] = field(default_factory=dict)
    duplicates: list[ConfigIssue] = field(default_factory=list)

    def line_of(self, path: str) -> int | None:
        """The line of `path`, else of its nearest ancestor (a missing key's mapping)."""
        while path not in self.lines:
            if not path:
                return None
            path = _LAST_SEGMENT.sub("", path, count=1)
        return self.lines[path]

    def index(self, node: yaml.Node, path: str, seen: set[int]) -> None:
        # A node shared through a YAML alias is indexed once, so `&a [*a]` terminates
        # and nested aliases cannot blow up exponentially.
        if id(node) in seen:
            return
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[str, int] = {}
            for key, value in node.value:
                if not isinstance(key, yaml.ScalarNode) or key.tag == _MERGE_TAG:
                    continue
                child, line = _join(path, key.value), key.start_mark.line + 1
                if key.value in first:
                    self.duplicates.append(
                        ConfigIssue(
                            child,
                            f"{key.value!r} is defined twice (first on line {first[key.value]}):"
                            " expected each key once",
                            line=line,
                        )
                    )
                else:
                    first[key.value] = self.lines[child] = line
                self.index(value, child, seen)
        elif isinstance(node, yaml.SequenceNode):
            for position, item in enumerate(node.value):
                child = f"{path}[{position}]"
                self.lines[child] = item.start_mark.line + 1
                self.index(item, child, seen)
        elif isinstance(node, yaml.ScalarNode):
            self.scalars[path] = node.value


_MERGE_TAG = "tag:yaml.org,2002:merge"
_LAST_SEGMENT = re.compile(r"(?:\.|^)[^.\[]*$|\[\d+\]$")


def load_yaml(text: str, file: str) -> tuple[object, Source]:
    source = Source()
    try:
        loader = yaml.SafeLoader(text)  # checks for unprintable characters already
        try:
            node = loader.get_single_node()
            if node is None:
                return None, source
            # Index before constructing: construction flattens `<<` merges in place,
            # which would make merged keys look like duplicates.
            source.index(node, "", set())
            data: object = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError(file, [_yaml_issue(exc, text)]) from None
    return data, source


def _yaml_issue(exc: yaml.YAMLError, text: str) -> ConfigIssue:
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        return ConfigIssue("", f"invalid YAML: {exc.reason} ({exc.character!r})", line=line)
    if not isinstance(exc, yaml.MarkedYAMLError) or exc.problem_mark is None:
        return ConfigIssue("", f"invalid YAML: {exc}")
    message = f"invalid YAML: {exc.problem}"
    if exc.context:
        started = f" on line {exc.context_mark.line + 1}" if exc.context_mark else ""
        message += f" ({exc.context}{started})"
    if exc.problem and exc.problem.endswith("but got '{'"):
        # Route patterns in flow style, `{path: /hello/{name}}`, are the usual cause.
        message += '; inside { } or [ ], quote values with braces: "/hello/{name}"'
    mark = exc.problem_mark
    return ConfigIssue("", message, line=mark.line + 1, column=mark.column + 1)
