"""Admin request bodies: UTF-8 JSON nested at most MAX_DEPTH deep, then validated.

Every way a body can be wrong is an InvalidInput naming `body` (or the key inside it), so no
body can make the admin API answer 500.
"""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from gateway.errors import InvalidInput

Body = TypeVar("Body", bound=BaseModel)

# Deep enough for any gaia.yaml (a cron payload may nest 64 levels below its trigger, which
# sits 6 below the document), shallow enough that nothing recursive downstream can overflow.
MAX_DEPTH = 100


def parse_json(raw: bytes) -> object:
    """The body as JSON; every JSON body of the admin API is required."""
    if not raw:
        raise InvalidInput("request body is empty: expected a JSON object", field="body")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"request body is not UTF-8: byte {raw[exc.start]:#04x} at offset {exc.start}"
            " (JSON is UTF-8 text)",
            field="body",
        ) from exc
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError as exc:
        raise _too_deep() from exc
    except ValueError as exc:  # JSONDecodeError, or an integer of more than 4300 digits
        raise InvalidInput(f"request body is not valid JSON: {exc}", field="body") from exc
    if _depth_over(data, MAX_DEPTH):
        raise _too_deep()
    return data


def validated(model: type[Body], data: object) -> Body:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        issues = [
            {"field": ".".join(str(p) for p in err["loc"]) or "body", "message": err["msg"]}
            for err in exc.errors()
        ]
        raise InvalidInput(
            f"{issues[0]['field']}: {issues[0]['message']}",
            field=issues[0]["field"],
            errors=issues,
        ) from exc


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _too_deep() -> InvalidInput:
    return InvalidInput(f"request body nests JSON more than {MAX_DEPTH} levels deep", field="body")


def _depth_over(data: object, limit: int) -> bool:
    # A loop rather than recursion: this guards against depth, so it must not recurse.
    stack: list[tuple[object, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: list[object] = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
