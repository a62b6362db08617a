"""What one HTTP trigger serves (gaia.yaml `- http: {path, methods, host}`).

The path pattern and the host are checked here, at load, by the route table's own
rules, so a file that loads is a file whose routes compile.
"""

from __future__ import annotations

from typing import Annotated

from configkit.leaves import optional, parsed
from configkit.model import ConfigModel
from configkit.words import describe, listing
from routing.errors import InvalidSpec
from routing.routes import HTTP_METHODS, check_host, parse_pattern


def url_path(raw: object) -> str:
    if not isinstance(raw, str) or not raw.startswith("/"):
        raise ValueError(f"expected a URL path starting with '/', got {describe(raw)}")
    try:
        parse_pattern(raw)
    except InvalidSpec as exc:
        raise ValueError(exc.message) from None
    return raw


def method_list(raw: object) -> tuple[str, ...]:
    expected = f"a list of HTTP methods from {listing(HTTP_METHODS)}"
    if not isinstance(raw, list | tuple) or not raw:
        raise ValueError(f"expected {expected}, got {describe(raw)}")
    found: list[str] = []
    for item in raw:
        method = item.upper() if isinstance(item, str) else None
        if method not in HTTP_METHODS:
            raise ValueError(f"expected {expected}, got {describe(item)}")
        if method not in found:
            found.append(method)
    return tuple(found)


def host_name(raw: object) -> str:
    if not isinstance(raw, str) or not raw or "/" in raw:
        raise ValueError(
            "expected a host name like api.example.com, without scheme or path,"
            f" got {describe(raw)}"
        )
    try:
        check_host(raw)
    except InvalidSpec as exc:
        raise ValueError(exc.message) from None
    return raw.lower()


class HttpTriggerConfig(ConfigModel):
    path: Annotated[str, parsed(url_path)]
    methods: Annotated[tuple[str, ...] | None, parsed(optional(method_list))] = None  # None: any
    host: Annotated[str | None, parsed(optional(host_name))] = None  # None: any host

    def to_dict(self) -> dict[str, object]:
        # Methods are stored sorted: reordering them in the file changes no trigger.
        data = super().to_dict()
        if self.methods:
            data["methods"] = sorted(self.methods)
        return data
