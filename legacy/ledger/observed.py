"""The Observations of a gateway whose router has seen nothing (yet, or at all)."""

from __future__ import annotations

from legacy.ports import DiscoveredRoute, Evidence


class NothingObserved:
    def evidence(self, path: str) -> Evidence | None:
        return None

    def discovered(self) -> list[DiscoveredRoute]:
        return []

    def totals(self) -> tuple[int, int]:
        return (0, 0)
