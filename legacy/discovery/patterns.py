"""A request path's route pattern: segments that are ids become `{id}`, `{id2}`, ...

A segment is an id when it is
- numeric: digits only (`42`, `20240101`);
- uuid-like: 8-4-4-4-12 hex digits, in any case;
- hex: at least 8 hex digits with a digit among them (ObjectIds, hashes, short commit
  ids), or at least 16 of any kind. Words can be spelled in hex letters alone (`cafe`,
  `facade`, `deadbeef`), and those stay static; the price is that a random 8-digit hex
  id with no digit in it (one in about 2,600) stays too. No word is 16 hex letters long;
- long opaque: at least 20 characters of base64url (`A-Z a-z 0-9 - _`, `=` padding), with
  letters and digits both: tokens and slugs. Identifiers in code (`getUsersByDepartment`)
  have no digit and stay;
- or a segment no pattern can hold literally (it holds `{`, `}`, `?` or `#`).
Everything else stays a literal: `/v1/users/me`, `/api/health`, `/oauth2/token`.

Each pattern is valid in an HTTP trigger's `path` and matches the path it came from.
"""

from __future__ import annotations

import re

_NUMERIC = re.compile(r"[0-9]+")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = re.compile(r"(?=[a-fA-F]*[0-9])[0-9a-fA-F]{8,}|[0-9a-fA-F]{16,}")
_OPAQUE = re.compile(r"(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_-]{20,}={0,2}")
# Characters a pattern's literal segment cannot hold: braces open parameters, and a
# pattern takes no query or fragment.
_UNWRITABLE = re.compile(r"[{}?#]")


class NoPattern(ValueError):
    """The path can be matched by no route pattern (it is not absolute, or has `//`)."""


def is_id(segment: str) -> bool:
    return any(rule.fullmatch(segment) for rule in (_NUMERIC, _UUID, _HEX, _OPAQUE)) or bool(
        _UNWRITABLE.search(segment)
    )


def pattern_of(path: str) -> str:
    """The route pattern of a decoded request path; NoPattern when none can match it."""
    if not path.startswith("/"):
        raise NoPattern(f"path {path[:80]!r} does not start with '/': no route pattern matches it")
    segments = path[1:].split("/")
    # A route's segments are never empty, but for a trailing slash.
    if "" in segments[:-1]:
        raise NoPattern(
            f"path {path[:80]!r} has an empty segment ('//'): no route pattern matches it"
        )
    out: list[str] = []
    ids = 0
    for segment in segments:
        if segment and is_id(segment):
            ids += 1
            out.append("{id}" if ids == 1 else f"{{id{ids}}}")
        else:
            out.append(segment)
    return "/" + "/".join(out)
