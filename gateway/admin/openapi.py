"""/openapi.json, built from the endpoint table and the models of gateway/admin/schemas.py."""

from __future__ import annotations

import re

from pydantic import BaseModel

from gateway.admin.endpoints import ENDPOINTS, PATH_PARAMETERS, Answer, Endpoint
from gateway.admin.schemas import ErrorView

# `{fn}`, or `{trigger:path}` where Starlette needs a converter OpenAPI does not know.
PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")
_REF = "#/components/schemas/{model}"
_ERRORS = {
    "401": "missing or wrong bearer token",
    "404": "no such function, alias, revision, trigger, ledger route or path",
    "405": "the path does not take this method (Allow lists those it takes)",
    "409": (
        "valid, but clashes with what is stored, a promotion its gate refuses, or a change "
        "another replica stored first (concurrent_change)"
    ),
    "422": "invalid input; `field` names the offending key",
    "502": "the worker died during the invocation",
    "503": (
        "the revision's queue is full, or it is not ready; for a change, the shared store "
        "cannot be reached (store_unavailable)"
    ),
    "504": "the function ran past its timeout",
}


def openapi_path(path: str) -> str:
    return PARAMETER.sub(r"{\1}", path)


class _Components:
    def __init__(self) -> None:
        self.schemas: dict[str, object] = {}

    def ref(self, model: type[BaseModel]) -> dict[str, object]:
        if model.__name__ not in self.schemas:
            schema = model.model_json_schema(ref_template=_REF, by_alias=True)
            self.schemas.update(schema.pop("$defs", {}))
            self.schemas[model.__name__] = schema
        return {"$ref": _REF.format(model=model.__name__)}

    def content(self, answer: Answer) -> dict[str, object]:
        schema: dict[str, object]
        if answer.model is None:
            schema = answer.schema or {}
        elif answer.many:
            schema = {"type": "array", "items": self.ref(answer.model)}
        else:
            schema = self.ref(answer.model)
        return {answer.media_type: {"schema": schema}}


def _operation(endpoint: Endpoint, components: _Components) -> dict[str, object]:
    # A status may come as more than one content type (publish's stream of stages).
    descriptions: dict[str, list[str]] = {}
    contents: dict[str, dict[str, object]] = {}
    for answer in endpoint.answers:
        descriptions.setdefault(answer.status, []).append(answer.description)
        contents.setdefault(answer.status, {}).update(components.content(answer))
    responses: dict[str, object] = {
        status: {"description": "; or ".join(descriptions[status]), "content": content}
        for status, content in contents.items()
    }
    statuses = [*endpoint.errors, "405"] + ([] if endpoint.open else ["401"])
    for status in sorted(set(statuses)):
        responses[status] = {
            "description": _ERRORS[status],
            "content": {"application/json": {"schema": components.ref(ErrorView)}},
        }
    operation: dict[str, object] = {
        "summary": endpoint.summary,
        "operationId": endpoint.handler,
        "responses": responses,
    }
    if endpoint.open:
        operation["security"] = []
    parameters: list[dict[str, object]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": PATH_PARAMETERS[name].schema,
            "example": PATH_PARAMETERS[name].example,
        }
        for name in PARAMETER.findall(endpoint.path)
    ]
    parameters += [
        {
            "name": q.name,
            "in": "query",
            "description": q.description,
            "schema": q.schema,
            **({"required": True} if q.required else {}),
        }
        for q in endpoint.query
    ]
    if parameters:
        operation["parameters"] = parameters
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": components.ref(endpoint.body)}},
        }
    elif endpoint.raw_body:
        operation["requestBody"] = {
            "content": {"application/octet-stream": {"schema": {"type": "string"}}}
        }
    return operation


def openapi_document() -> dict[str, object]:
    components = _Components()
    paths: dict[str, dict[str, object]] = {}
    for endpoint in ENDPOINTS:
        paths.setdefault(openapi_path(endpoint.path), {})[endpoint.method.lower()] = _operation(
            endpoint, components
        )
    return {
        "openapi": "3.1.0",
        "info": {"title": "gaia admin API", "version": "1"},
        "paths": paths,
        "components": {
            "schemas": components.schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }
