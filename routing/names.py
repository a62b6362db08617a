"""Names and invocation targets: `hello`, `hello:prod`, `hello@3`, tags, sticky keys.

Each rule lives here once; gaia.yaml (gateway/config.py), the admin API and the CLI all call
it, and the admin API's /openapi.json is built from the same patterns and bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from routing.errors import InvalidSpec

# Functions, aliases and tags share one shape, a DNS label starting with a letter (as
# Knative's tags are), so `hello:prod` can never be read as a revision and a tag fits in
# a header, a metric label or a host name. The JSON Schema form anchors it: JSON Schema
# patterns match anywhere, and Python's `$` would let a trailing newline through.
NAME_PATTERN = r"[a-z][a-z0-9-]{0,62}"
NAME_SCHEMA_PATTERN = f"^{NAME_PATTERN}$"
MAX_NAME_LENGTH = 63
FUNCTION_NAME = ALIAS_NAME = TAG_NAME = re.compile(NAME_PATTERN)
DEFAULT_ALIAS = "default"

# RFC 9110 section 5.6.2: a token, the shape of an HTTP field name and of a cookie name.
TOKEN_CHAR = r"[!#$%&'*+.^_`|~0-9A-Za-z-]"
MAX_TOKEN_LENGTH = 256
TOKEN_PATTERN = f"{TOKEN_CHAR}{{1,{MAX_TOKEN_LENGTH}}}"
TOKEN = re.compile(TOKEN_PATTERN)

LATEST: Literal["latest"] = "latest"
# Revisions are numbered in a SQLite INTEGER column: a signed 64-bit integer.
MAX_REVISION = 2**63 - 1
_REVISION_DIGITS = re.compile(r"[0-9]{1,19}")
_SHOWN = 40


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


def shown(value: object) -> str:
    """`value` for an error message: its repr (JSON's spelling of a bool), cut short so a
    huge input stays readable."""
    text = ("true" if value else "false") if isinstance(value, bool) else repr(value)
    if len(text) <= _SHOWN:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[:_SHOWN]}...{size}"


def _check_name(kind: str, name: object, path: str) -> str:
    if not isinstance(name, str) or not FUNCTION_NAME.fullmatch(name):
        raise InvalidSpec(
            f"invalid {kind} name {shown(name)}: expected lowercase letters, digits and '-', "
            f"starting with a letter, at most {MAX_NAME_LENGTH} characters",
            path=path,
        )
    return name


def check_function_name(name: object, *, path: str = "") -> str:
    return _check_name("function", name, path)


def check_alias_name(name: object, *, path: str = "") -> str:
    return _check_name("alias", name, path)


def check_tag_name(name: object, *, path: str = "") -> str:
    return _check_name("tag", name, path)


def check_token(name: object, *, what: str, path: str = "") -> str:
    """An RFC 9110 token of at most MAX_TOKEN_LENGTH characters (a header or cookie name)."""
    if not isinstance(name, str) or not TOKEN.fullmatch(name):
        raise InvalidSpec(
            f"invalid {what} {shown(name)}: expected an HTTP token (letters, digits and "
            f"!#$%&'*+-.^_`|~) of at most {MAX_TOKEN_LENGTH} characters",
            path=path,
        )
    return name


def check_revision(raw: object, *, path: str = "") -> int | Literal["latest"]:
    """A revision as JSON or YAML gives it: a whole number from 1 (not true, not 1.0), or
    'latest'."""
    if raw == LATEST:
        return LATEST
    return check_revision_number(raw, path=path, latest=True)


def check_revision_number(raw: object, *, path: str = "", latest: bool = False) -> int:
    """A revision number (1, 2, ...): an int, not a bool or a float."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_REVISION:
        either = " or 'latest'" if latest else ""
        raise InvalidSpec(
            f"invalid revision {shown(raw)}: expected a positive integer (at most 2^63-1){either}",
            path=path,
        )
    return raw


def parse_revision_text(text: str, *, path: str = "") -> int:
    """A revision number typed as text (`hello@3`, `?revision=3`, `gaia alias set ... 3=100`):
    ASCII digits only, so `٣` or `1e3` are no revision."""
    return check_revision_number(int(text) if _REVISION_DIGITS.fullmatch(text) else text, path=path)


def parse_target(text: str, *, path: str = "") -> Target:
    """`hello` → alias default, `hello:prod` → alias prod, `hello@3` → revision 3."""
    if "@" in text:
        function, _, number = text.partition("@")
        revision = parse_revision_text(number, path=path)
        return Target(function=check_function_name(function, path=path), revision=revision)
    function, sep, alias = text.partition(":")
    check_function_name(function, path=path)
    if sep:
        return Target(function=function, alias=check_alias_name(alias, path=path))
    return Target(function=function, alias=DEFAULT_ALIAS)


def invoke_target(
    function: str, *, alias: str | None = None, revision: str | None = None, tag: str | None = None
) -> Target:
    """What `POST /v1/functions/{fn}/invoke?alias=&revision=&tag=` reaches: `revision` alone,
    or an alias (default `default`) with optionally a tag of its traffic. A tag names a
    revision through an alias, so a revision beside an alias or a tag is refused."""
    check_function_name(function, path="fn")
    if revision is not None:
        others = [name for name, value in (("alias", alias), ("tag", tag)) if value is not None]
        if others:
            raise InvalidSpec(
                f"got revision and {' and '.join(others)}: expected either revision alone, "
                "or alias and/or tag",
                path="revision",
            )
        return Target(function=function, revision=parse_revision_text(revision, path="revision"))
    return Target(
        function=function,
        alias=DEFAULT_ALIAS if alias is None else check_alias_name(alias, path="alias"),
        tag=None if tag is None else check_tag_name(tag, path="tag"),
    )
