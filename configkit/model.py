"""The base of every config model: a mapping of known keys, each validated by the leaf
parser its annotation names, with every mistake collected.

pydantic does the collecting and reports each error with its path; this base makes the
messages gaia's own. A key the model does not know gets the closest known key as a
suggestion, a value that is not a mapping names the keys expected, and a missing
required key is validated as `None`, so that its parser says what was expected
(`expected a topic name ..., got nothing`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import InitErrorDetails, PydanticCustomError, PydanticUndefined

from configkit.issues import issue, reraised
from configkit.words import describe, listing, unknown_key


def known_keys(
    raw: Mapping[Any, object], keys: Sequence[str], *, unavailable: Mapping[str, str] | None = None
) -> tuple[dict[str, object], list[tuple[str, str]]]:
    """The entries of `raw` whose key is one of `keys`, and an issue (key, message) for
    each other one: a documented but unavailable key gets its `unavailable` message."""
    known: dict[str, object] = {}
    issues: list[tuple[str, str]] = []
    for key, value in raw.items():
        if unavailable and key in unavailable:
            issues.append((str(key), unavailable[key]))
        elif isinstance(key, str) and key in keys:
            known[key] = value
        else:
            issues.append((str(key), unknown_key(key, keys)))
    return known, issues


def not_a_mapping(value: object, keys: Sequence[str]) -> str:
    return f"expected a mapping with {listing(keys)}, got {describe(value)}"


def key(name: str, *, default: Any = PydanticUndefined, **field: Any) -> Any:
    """A field whose gaia.yaml key differs from its Python name: `session_timeout_s:
    float = key("session_timeout", default=10.0)`. Python code builds models by field
    name; documents are read, and `to_dict` written, by key."""
    return Field(default, validation_alias=name, serialization_alias=name, **field)


def _key(name: str, field: FieldInfo) -> str:
    return field.validation_alias if isinstance(field.validation_alias, str) else name


class ConfigModel(BaseModel):
    """A mapping of gaia.yaml keys; see the module docstring."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, arbitrary_types_allowed=True
    )

    @classmethod
    def yaml_keys(cls) -> tuple[str, ...]:
        """The gaia.yaml keys, in the order messages list them."""
        return tuple(_key(name, field) for name, field in cls.model_fields.items())

    @model_validator(mode="wrap")
    @classmethod
    def _as_mapping(cls, data: object, handler: Any) -> Self:
        if isinstance(data, cls):
            return data
        if data is None:  # `batch:` with nothing after it: an empty mapping
            data = {}
        if not isinstance(data, Mapping):
            raise PydanticCustomError(
                "gaia", "{message}", {"message": not_a_mapping(data, cls.yaml_keys()), "at": ""}
            )
        aliases = {name: _key(name, field) for name, field in cls.model_fields.items()}
        known, unknown = known_keys(
            {aliases.get(key, key) if isinstance(key, str) else key: v for key, v in data.items()},
            cls.yaml_keys(),
        )
        for name, field in cls.model_fields.items():
            if field.is_required():
                known.setdefault(_key(name, field), None)
        before = [
            InitErrorDetails(type=issue(key, message), loc=(), input=None)
            for key, message in unknown
        ]
        try:
            model: Self = handler(known)
        except ValidationError as exc:
            if not before:
                raise
            raise reraised(exc, before=before) from None
        if before:
            raise ValidationError.from_exception_data(cls.__name__, before)
        return model

    def to_dict(self) -> dict[str, Any]:
        """The stored form: gaia.yaml keys, numbers in seconds and bytes, unset optional
        keys left out. It is valid gaia.yaml, so `from_dict` validates it again."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Self:
        return cls.model_validate(data)
