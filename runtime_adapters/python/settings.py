"""A python function's revision settings (gaia.yaml beside `code:`, `runtime: python`)."""

from __future__ import annotations

import keyword
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import model_validator

from configkit.issues import issue
from configkit.leaves import Boolean, optional, parsed
from configkit.words import describe
from runtime_adapters.base import RevisionSpec
from runtime_adapters.python.entrypoint import missing_handler
from runtime_adapters.settings import InstanceSettings

Interface = Literal["asgi", "wsgi"]
INTERFACES: tuple[Interface, ...] = ("asgi", "wsgi")
# `interface: function` is the default spelled out; it is stored as no key at all, so
# revisions from before the key keep their digests.
_FUNCTION = "function"


def interface_of(spec: RevisionSpec) -> str:
    """ "asgi" or "wsgi" for a whole web app, "" for a handler function; the key travels
    in the spec's stored settings (RevisionSpec.settings)."""
    interface = spec.settings.get("interface")
    return interface if isinstance(interface, str) else ""


def _dotted(text: str) -> bool:
    parts = text.split(".")
    return all(p.isidentifier() and not keyword.iskeyword(p) for p in parts)


def is_app_reference(handler: str) -> bool:
    """`module:app` (both sides may be dotted: `pkg.web:api.app`), as uvicorn takes it."""
    module, colon, attr = handler.partition(":")
    return bool(colon) and _dotted(module) and _dotted(attr)


def _handler(raw: object) -> str:
    if isinstance(raw, str) and (("." in raw and _dotted(raw)) or is_app_reference(raw)):
        return raw
    raise ValueError(
        "expected module.function like main.handler or pkg.app.handler"
        f" (module:app like main:app with interface asgi or wsgi), got {describe(raw)}"
    )


def _interface(raw: object) -> Interface | None:
    if raw == _FUNCTION:
        return None
    for option in INTERFACES:
        if raw == option:
            return option
    raise ValueError(f"expected function, asgi or wsgi, got {describe(raw)}")


class PythonSettings(InstanceSettings):
    """The field defaults are the documented defaults."""

    handler: Annotated[str, parsed(_handler)] = "main.handler"
    interface: Annotated[Interface | None, parsed(optional(_interface))] = None
    network: Boolean = True

    @model_validator(mode="after")
    def _handler_fits_interface(self) -> Self:
        app = is_app_reference(self.handler)
        if self.interface is not None and "handler" not in self.model_fields_set:
            raise issue(
                "interface",
                "expected a handler: module:app like main:app beside it, got no handler"
                f" (the default, {self.handler}, names a function)",
            )
        if self.interface is not None and not app:
            raise issue(
                "handler",
                f"expected module:app like main:app for interface {self.interface},"
                f" got {self.handler!r}",
            )
        if self.interface is None and app:
            raise issue(
                "handler",
                f"expected module.function like main.handler, got {self.handler!r}:"
                " module:app names a whole web app; add interface: asgi or wsgi",
            )
        return self

    def code_issues(self, code: Path) -> list[tuple[str, str]]:
        problem = missing_handler(code, self.handler)
        return [("handler", problem)] if problem else []

    def spec(self, *, function: str, revision: int, digest: str, bundle_dir: Path) -> RevisionSpec:
        return self.instance_spec(
            runtime="python",
            function=function,
            revision=revision,
            digest=digest,
            bundle_dir=bundle_dir,
            handler=self.handler,
            network=self.network,
        )
