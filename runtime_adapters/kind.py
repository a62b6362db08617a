"""What a runtime is to the gateway: one object each `runtime_adapters/<runtime>/`
package declares as `KIND` (in its `kind` module), found through
`runtime_adapters.registry` and chosen by a function's `runtime:` key."""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from pathlib import Path

from configkit.model import ConfigModel
from runtime_adapters.base import LogSink, RevisionSpec, Runtime


class RuntimeSettings(ConfigModel, abc.ABC):
    """A runtime's revision settings: gaia.yaml keys of a function beside `code`,
    `runtime`, `aliases` and `triggers`. They are part of the revision's digest."""

    @abc.abstractmethod
    def spec(self, *, function: str, revision: int, digest: str, bundle_dir: Path) -> RevisionSpec:
        """What the runtime needs to run the revision."""

    def code_issues(self, code: Path) -> list[tuple[str, str]]:
        """(key, message) for each setting the code in `code` cannot satisfy, read
        without running it (a handler it does not define); none if unsure."""
        return []


@dataclass(frozen=True, kw_only=True)
class RuntimeContext:
    """What the gateway gives every runtime it starts."""

    state_dir: Path  # the runtime's own directory under GAIA_HOME
    spares: int  # pre-started workers waiting for a revision, where the runtime has them
    # Where every line instances write goes (default: JSON lines on stderr).
    log_sink: LogSink | None = None


@dataclass(frozen=True, kw_only=True)
class RuntimeKind:
    name: str  # `runtime: python`
    description: str
    settings: type[RuntimeSettings]
    needs_code: bool  # whether a function of this runtime must have `code:`
    # "module:function" starting the runtime from a RuntimeContext, imported on use.
    runtime: str

    def start(self, context: RuntimeContext) -> Runtime:
        module, _, name = self.runtime.partition(":")
        runtime: Runtime = getattr(importlib.import_module(module), name)(context)
        return runtime
