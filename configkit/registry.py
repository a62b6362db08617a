"""Plug-ins by name, each found as `KIND` in a module named by its path: the module is
imported on first use, so a plug-in costs nothing until something asks for it (a
trigger kind's broker client, a runtime's worker machinery)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Generic, Protocol, TypeVar


class Named(Protocol):
    @property
    def name(self) -> str: ...


K = TypeVar("K", bound=Named)


class Registry(Generic[K]):
    def __init__(self, kind: type[K], modules: Mapping[str, str]) -> None:
        self._kind = kind
        self.modules = dict(modules)  # name -> module declaring KIND, in listing order
        self._loaded: dict[str, K] = {}

    def names(self) -> tuple[str, ...]:
        return tuple(self.modules)

    def kind(self, name: str) -> K:
        """The plug-in registered as `name`; KeyError if there is none."""
        if name not in self._loaded:
            found = importlib.import_module(self.modules[name]).KIND
            if not isinstance(found, self._kind) or found.name != name:
                raise TypeError(
                    f"{self.modules[name]}.KIND is not the {self._kind.__name__} {name!r}"
                )
            self._loaded[name] = found
        return self._loaded[name]

    def kinds(self) -> tuple[K, ...]:
        return tuple(self.kind(name) for name in self.modules)
