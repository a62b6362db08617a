"""How messages name values, keys and paths: `got 'soon'`, `expected a, b or c`."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence


def join(path: str, key: str) -> str:
    """`functions.hello` + `timeout`; a key `[0]` (a list position) joins without a dot."""
    if not path:
        return key
    if not key:
        return path
    return f"{path}{key}" if key.startswith("[") else f"{path}.{key}"


def describe(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return repr(value)


def listing(items: Collection[str], *, last: str = "or") -> str:
    words = list(items)
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} {last} {words[-1]}"


def unknown_key(key: object, keys: Sequence[str], *, what: str = "key") -> str:
    """The closest known key as a suggestion, else every known key."""
    close = difflib.get_close_matches(str(key), keys, n=1) if isinstance(key, str) else []
    if close:
        return f"unknown {what} {key!r}: did you mean {close[0]!r}?"
    return f"unknown {what} {key!r}: expected {listing(keys)}"


def scalar_text(value: object) -> str:
    """A YAML scalar as the string a program reading the environment expects."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
