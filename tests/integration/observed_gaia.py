"""`gaia` whose router figures come from a JSON file the test writes: the gates, `gaia
migrate status` and `discover` of a real gateway, before the real router is wired in.

    python -m tests.integration.observed_gaia up --port ... (GAIA_TEST_OBSERVATIONS=FILE)

The file is read on every question, so a test changes the evidence while the gateway
runs: {"evidence": {PATH: {samples, mismatches, legacy: [requests, errors], function:
[...], noise_paths}}, "discovered": [DiscoveredRoute fields], "totals": [requests, by
functions]}.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from gateway import server
from gateway.cli.main import main
from gateway.control import ControlPlane
from legacy.ports import DiscoveredRoute, Evidence
from tests.legacy.evidence import evidence


class FileObservations:
    def __init__(self, path: Path) -> None:
        self._path = path

    def _read(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self._path.read_text())
        except FileNotFoundError:
            return {}
        return data

    def evidence(self, path: str) -> Evidence | None:
        raw = self._read().get("evidence", {}).get(path)
        if raw is None:
            return None
        return evidence(
            samples=raw.get("samples", 0),
            mismatches=raw.get("mismatches", 0),
            legacy=tuple(raw.get("legacy", (0, 0))),
            function=tuple(raw.get("function", (0, 0))),
            noise_paths=tuple(raw.get("noise_paths", ())),
        )

    def discovered(self) -> list[DiscoveredRoute]:
        return [DiscoveredRoute(**route) for route in self._read().get("discovered", [])]

    def totals(self) -> tuple[int, int]:
        requests, by_functions = self._read().get("totals", (0, 0))
        return int(requests), int(by_functions)


class ObservedControlPlane(ControlPlane):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            **kwargs, observations=FileObservations(Path(os.environ["GAIA_TEST_OBSERVATIONS"]))
        )


if __name__ == "__main__":
    # gateway.server builds its ControlPlane by this name; the router will bring its own.
    setattr(server, "ControlPlane", ObservedControlPlane)  # noqa: B010
    main()
