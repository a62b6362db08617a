"""Function names and invocation targets: `hello`, `hello:prod`, `hello@3`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from routing.errors import InvalidSpec

FUNCTION_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
ALIAS_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
DEFAULT_ALIAS = "default"


@dataclass(frozen=True, kw_only=True, slots=True)
class Target:
    """Where an invocation goes: an alias of a function, or one revision of it."""

    function: str
    alias: str | None = None
    revision: int | None = None
    # Pins the target to the alias's revision carrying this tag, as X-Gaia-Tag does.
    tag: str | None = None

    def __str__(self) -> str:
        if self.revision is not None:
            return f"{self.function}@{self.revision}"
        return f"{self.function}:{self.alias or DEFAULT_ALIAS}"


def check_function_name(name: str, *, path: str = "") -> str:
    if not FUNCTION_NAME.fullmatch(name):
        raise InvalidSpec(
            f"invalid function name {name!r}: expected lowercase letters, digits and '-', "
            "starting with a letter, at most 63 characters",
            path=path,
        )
    return name


def check_alias_name(name: str, *, path: str = "") -> str:
    if not ALIAS_NAME.fullmatch(name):
        raise InvalidSpec(
            f"invalid alias name {name!r}: expected lowercase letters, digits and '-', "
            "starting with a letter",
            path=path,
        )
    return name


def parse_target(text: str, *, path: str = "") -> Target:
    """`hello` → alias default, `hello:prod` → alias prod, `hello@3` → revision 3."""
    if "@" in text:
        function, _, number = text.partition("@")
        if not number.isdigit() or int(number) < 1:
            raise InvalidSpec(
                f"invalid revision in {text!r}: expected a positive integer after '@'", path=path
            )
        return Target(function=check_function_name(function, path=path), revision=int(number))
    function, sep, alias = text.partition(":")
    check_function_name(function, path=path)
    if sep:
        return Target(function=function, alias=check_alias_name(alias, path=path))
    return Target(function=function, alias=DEFAULT_ALIAS)
