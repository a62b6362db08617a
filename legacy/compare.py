"""Comparing the old API's answer with a function's: status, chosen headers, JSON bodies.

Each difference names where it is (`status`, `header:NAME`, a JSON path such as
`$.items[0].price`, or `body`) with both values, old first. JSON bodies are compared
field by field: objects by key, arrays by index, numbers by value (1 == 1.0, and JSON's
`true` is not 1), strings exactly. A body that is not JSON on either side is compared as
bytes, one difference `body` when they differ.

Paths to skip (a route's `compare.ignore` and the noise learned from the old API itself)
use the same syntax, with `[*]` for any index; each skips its whole subtree, and `body`
or `header:NAME` skip those parts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeAlias

from legacy.config import CompareConfig
from legacy.ports import CapturedResponse, Headers

Json: TypeAlias = "dict[str, Json] | list[Json] | str | int | float | bool | None"
# One step of a JSON path: an object key, an array index, or `[*]`, any index.
Step: TypeAlias = "str | int | None"

ABSENT = "<absent>"
# A difference keeps both values readable but bounded: it is stored as the example diff.
_SHOWN_CHARS = 120
# A key `.key` can name; any other is written `["key"]`, which `json_path` reads back.
_PLAIN_KEY = re.compile(r"[^.\[\]]+")
_STEP = re.compile(r'\.([^.\[\]]+)|\[(\d+|\*)\]|\[("(?:[^"\\]|\\.)*")\]')

# RFC 8259 §11: application/json defines no charset ("adding one really has no effect on
# compliant recipients"), JSON text being UTF-8; the same holds for `+json` types.
_JSON_TYPE = re.compile(r"application/(?:[^;/]+\+)?json")
# RFC 9110 §5.6.1 list-valued fields whose comparison can be made exact: for each,
# whether its elements compare case-insensitively, and whether their order matters.
# Order matters for Content-Encoding alone (codings are listed in the order applied,
# §8.4); the others are sets. Methods are case-sensitive (§9.1); field names, codings,
# cache directives (RFC 9111 §5.2) and language tags (RFC 5646 §2.1.1) are not.
_LISTS: dict[str, tuple[bool, bool]] = {
    "allow": (False, False),
    "access-control-allow-methods": (False, False),
    "access-control-allow-headers": (True, False),
    "access-control-expose-headers": (True, False),
    "cache-control": (True, False),
    "content-encoding": (True, True),
    "content-language": (True, False),
    "vary": (True, False),
}


@dataclass(frozen=True, kw_only=True)
class Difference:
    # `status`, `header:NAME`, `body`, or a JSON path.
    where: str
    old: str
    new: str

    def __str__(self) -> str:
        return f"{self.where}: {self.old} != {self.new}"


@dataclass(frozen=True, kw_only=True)
class Comparison:
    differences: tuple[Difference, ...]
    # False when either body was not captured (it passed the capture limit): the status
    # and headers were compared, the body was not, so no difference in it can be known.
    body_compared: bool

    @property
    def differs(self) -> bool:
        return bool(self.differences)

    def lines(self) -> tuple[str, ...]:
        """The differences as `ports.Mismatch.differences` holds them."""
        return tuple(str(d) for d in self.differences)


class InvalidPath(ValueError):
    pass


def json_path(steps: Iterable[Step]) -> str:
    """`$`, then `.key` (or `["key"]` for keys `.key` cannot name), `[N]` or `[*]` steps."""
    parts = ["$"]
    for step in steps:
        if step is None:
            parts.append("[*]")
        elif isinstance(step, int):
            parts.append(f"[{step}]")
        elif _PLAIN_KEY.fullmatch(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{json.dumps(step)}]")
    return "".join(parts)


def parse_json_path(text: str) -> tuple[Step, ...]:
    if not text.startswith("$"):
        raise InvalidPath(f"invalid JSON path {text!r}: expected it to start with '$'")
    steps: list[Step] = []
    at = 1
    while at < len(text):
        found = _STEP.match(text, at)
        if found is None:
            raise InvalidPath(
                f'invalid JSON path {text!r} at {text[at:]!r}: expected .key, [N], [*] or ["key"]'
            )
        key, index, quoted = found.groups()
        if key is not None:
            steps.append(key)
        elif index is not None:
            steps.append(None if index == "*" else int(index))
        else:
            steps.append(json.loads(quoted))
        at = found.end()
    return tuple(steps)


class SkipSet:
    """Paths whose subtrees are never compared: JSON paths, `body` and `header:NAME`."""

    def __init__(self, paths: Iterable[str] = ()) -> None:
        self._json: list[tuple[Step, ...]] = []
        self._parts: set[str] = set()
        for path in paths:
            if path == "body" or path.startswith("header:"):
                self._parts.add(path.lower())
            else:
                self._json.append(parse_json_path(path))

    def skips_part(self, part: str) -> bool:
        return part in self._parts

    def skips(self, steps: tuple[Step, ...]) -> bool:
        """Whether `steps` (keys and indices) lies at or under a skipped path."""
        return any(
            len(skip) <= len(steps)
            and all(_step_matches(s, t) for s, t in zip(skip, steps, strict=False))
            for skip in self._json
        )


def _step_matches(skip: Step, step: Step) -> bool:
    if skip is None:
        return isinstance(step, int)
    return skip == step and isinstance(skip, int) == isinstance(step, int)


def compare(
    old: CapturedResponse,
    new: CapturedResponse,
    config: CompareConfig,
    *,
    skip: Iterable[str] = (),
) -> Comparison:
    """The differences of `new` (the function's answer) from `old` (the old API's).

    `config.ignore` and `skip` (the route's learned noise) name paths never compared.
    """
    skipped = SkipSet((*config.ignore, *skip))
    found: list[Difference] = []
    if old.status != new.status:
        found.append(Difference(where="status", old=str(old.status), new=str(new.status)))
    for name in config.headers:
        where = f"header:{name}"
        if skipped.skips_part(where):
            continue
        old_value, new_value = header_value(old.headers, name), header_value(new.headers, name)
        # The same text is the same value: only differing texts need their meaning.
        if old_value != new_value and normalise_header(name, old_value) != normalise_header(
            name, new_value
        ):
            found.append(Difference(where=where, old=_shown(old_value), new=_shown(new_value)))
    if old.body is None or new.body is None:
        return Comparison(differences=tuple(found), body_compared=False)
    found.extend(compare_bodies(old.body, new.body, skipped))
    return Comparison(differences=tuple(found), body_compared=True)


def compare_bodies(old: bytes, new: bytes, skipped: SkipSet) -> Iterator[Difference]:
    if old == new:
        return  # the same bytes are the same JSON value, or the same other body
    old_json, new_json = _parse(old), _parse(new)
    if old_json is not None and new_json is not None:
        yield from _diff(old_json[0], new_json[0], (), skipped)
    elif old != new and not skipped.skips_part("body"):
        yield Difference(where="body", old=_shown_bytes(old), new=_shown_bytes(new))


def _parse(body: bytes) -> tuple[Json] | None:
    """The body's JSON value (in a 1-tuple, as `null` is a value), None if not JSON."""
    try:
        return (_decode(body.decode("utf-8")),)
    except (UnicodeDecodeError, ValueError):
        return None


def _no_constant(name: str) -> Json:
    # NaN and Infinity are Python's extension, not JSON (RFC 8259 §6).
    raise ValueError(f"{name} is not JSON")


# One decoder for every body: json.loads with an argument builds a new one each call.
_decode = json.JSONDecoder(parse_constant=_no_constant).decode


def _diff(old: Json, new: Json, at: tuple[Step, ...], skipped: SkipSet) -> Iterator[Difference]:
    if skipped.skips(at):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if key not in new or key not in old:
                if not skipped.skips((*at, key)):
                    yield _difference((*at, key), old.get(key, ABSENT), new.get(key, ABSENT))
            else:
                yield from _diff(old[key], new[key], (*at, key), skipped)
    elif isinstance(old, list) and isinstance(new, list):
        for index in range(max(len(old), len(new))):
            if index >= len(old) or index >= len(new):
                if not skipped.skips((*at, index)):
                    yield _difference(
                        (*at, index),
                        old[index] if index < len(old) else ABSENT,
                        new[index] if index < len(new) else ABSENT,
                    )
            else:
                yield from _diff(old[index], new[index], (*at, index), skipped)
    elif not _same_scalar(old, new):
        yield _difference(at, old, new)


def _same_scalar(old: Json, new: Json) -> bool:
    # Python holds True == 1 and 1 == 1.0; JSON holds only the second: a boolean is a
    # value of its own, and numbers compare by value, whichever way they were written.
    if isinstance(old, bool) or isinstance(new, bool):
        return old is new
    if isinstance(old, int | float) and isinstance(new, int | float):
        return old == new
    return type(old) is type(new) and old == new


def _difference(at: tuple[Step, ...], old: object, new: object) -> Difference:
    return Difference(where=json_path(at), old=_shown_json(old), new=_shown_json(new))


def _shown_json(value: object) -> str:
    return value if value == ABSENT else _shown(json.dumps(value, ensure_ascii=False))


def _shown(value: str | None) -> str:
    if value is None:
        return ABSENT
    return value if len(value) <= _SHOWN_CHARS else value[: _SHOWN_CHARS - 1] + "…"


def _shown_bytes(body: bytes) -> str:
    return f"{len(body)} bytes {_shown(repr(body[:_SHOWN_CHARS]))}"


def header_value(headers: Headers, name: str) -> str | None:
    """The field's value, repeated lines joined with `, ` (RFC 9110 §5.3); None if absent."""
    wanted = name.lower().encode("latin-1")
    values = [v.decode("latin-1").strip(" \t") for k, v in headers if k.lower() == wanted]
    return ", ".join(values) if values else None


def normalise_header(name: str, value: str | None) -> object:
    """A value in a form where values HTTP defines as equivalent are equal.

    Leading and trailing whitespace is not part of a field value (RFC 9110 §5.5), and
    repeated lines are one comma-joined value (§5.3). Media types and the list fields of
    `_LISTS` are compared by meaning; any other field byte for byte, since its grammar
    (dates, ETags, cookies) is not known here.
    """
    if value is None:
        return None
    value = value.strip(" \t")
    if name == "content-type":
        return media_type(value)
    rule = _LISTS.get(name)
    if rule is None:
        return value
    folded, ordered = rule
    items = [item.lower() if folded else item for item in split_list(value)]
    return tuple(items) if ordered else tuple(sorted(set(items)))


def media_type(value: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """`type/subtype` and its parameters, in the form equal media types share.

    RFC 9110 §8.3.1: type, subtype and parameter names are case-insensitive, whitespace
    around `;` is optional, and a quoted parameter value equals its unquoted form; §8.3.2:
    the charset value is case-insensitive. Parameters are a set (RFC 2045 §5.1: their
    order is not significant). JSON types drop charset (RFC 8259 §11).
    """
    kind, *raw_params = (part.strip(" \t") for part in _split(value, ";"))
    kind = kind.lower()
    params: dict[str, str] = {}
    for raw in raw_params:
        if not raw:
            continue
        name, _, param = raw.partition("=")
        name = name.strip(" \t").lower()
        param = _unquote(param.strip(" \t"))
        params[name] = param.lower() if name == "charset" else param
    if _JSON_TYPE.fullmatch(kind):
        params.pop("charset", None)
    return kind, tuple(sorted(params.items()))


def split_list(value: str) -> list[str]:
    """A list field's elements: split at commas outside quotes, OWS and empties dropped."""
    return [item for item in (part.strip(" \t") for part in _split(value, ",")) if item]


def _split(value: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value
