"""What is wrong with a file: issues with their key path, and the error that carries them.

ConfigError                  everything wrong with one file (or request body)
└── errors: [ConfigIssue]    one mistake: key path, message, line

Validators raise ValueError("expected ..., got ...") for the value they check, or
`Issues` for mistakes at other keys (a sibling, a child, several at once);
`issues_of` turns pydantic's ValidationError into ConfigIssues with their paths.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydantic import ValidationError
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from configkit.words import join


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    """One mistake: `path` is the dotted path to the bad key ("" for the whole file)."""

    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = ""
        if self.line is not None:
            where = f" (line {self.line}" + (f", column {self.column})" if self.column else ")")
        return f"{self.path}: {self.message}{where}" if self.path else f"{self.message}{where}"

    def to_dict(self) -> dict[str, object]:
        return {"path": self.path, "message": self.message, "line": self.line}


class ConfigError(Exception):
    """Everything wrong with one file; str() gives one `file: path: message` per line."""

    def __init__(self, file: str, errors: list[ConfigIssue]) -> None:
        super().__init__("\n".join(f"{file}: {issue}" for issue in errors))
        self.file = file
        self.errors = errors


class Issues(ValueError):
    """Mistakes found while validating one value, at paths relative to it ("" for the
    value itself, `max`, `[2].key`); `up=1` makes them relative to its mapping instead,
    for a check of one key against a sibling."""

    def __init__(self, *issues: tuple[str, str], up: int = 0) -> None:
        super().__init__("; ".join(message for _, message in issues))
        self.issues = issues
        self.up = up


def issue(path: str, message: str) -> PydanticCustomError:
    """An issue raised where pydantic expects one error (a model's own validator)."""
    return PydanticCustomError("gaia", "{message}", {"message": message, "at": path})


def location(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        path = join(path, f"[{part}]" if isinstance(part, int) else str(part))
    return path


def issues_of(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """(path, message) for every error pydantic collected, in the order it found them."""
    found: list[tuple[str, str]] = []
    for error in exc.errors(include_url=False):
        found.extend(_issues_of(error, prefix))
    return found


def _issues_of(error: ErrorDetails, prefix: str) -> list[tuple[str, str]]:
    loc = list(error["loc"])
    context = error.get("ctx") or {}
    cause = context.get("error")
    if isinstance(cause, Issues):
        base = location(loc[: len(loc) - cause.up])
        return [(join(join(prefix, base), path), message) for path, message in cause.issues]
    where = join(prefix, location(loc))
    if isinstance(cause, ValueError):
        return [(where, str(cause))]
    if error["type"] == "gaia":
        return [(join(where, str(context.get("at", ""))), str(context["message"]))]
    return [(where, error["msg"])]


def reraised(exc: ValidationError, *, before: Sequence[InitErrorDetails]) -> ValidationError:
    """`exc` with `before` in front: issues found ahead of pydantic's own validation."""
    details: list[InitErrorDetails] = list(before)
    for error in exc.errors(include_url=False):
        details.extend(
            InitErrorDetails(type=issue(path, message), loc=(), input=None)
            for path, message in _issues_of(error, "")
        )
    return ValidationError.from_exception_data(exc.title, details)
