"""A python function's revision settings (gaia.yaml beside `code:`, `runtime: python`)."""

from __future__ import annotations

import keyword
from pathlib import Path
from typing import Annotated

from configkit.leaves import Boolean, parsed
from configkit.words import describe
from runtime_adapters.base import RevisionSpec
from runtime_adapters.settings import InstanceSettings
from runtime_adapters.python.entrypoint import missing_handler


def _handler(raw: object) -> str:
    if isinstance(raw, str):
        parts = raw.split(".")
        if len(parts) > 1 and all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
            return raw
    raise ValueError(
        f"expected module.function like main.handler or pkg.app.handler, got {describe(raw)}"
    )


class PythonSettings(InstanceSettings):
    """The field defaults are the documented defaults."""

    handler: Annotated[str, parsed(_handler)] = "main.handler"
    network: Boolean = True

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
