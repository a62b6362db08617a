"""Evidence built from a few counts, and an Observations that serves it: for tests of
the code above `legacy.ports.Observations` while the real router is elsewhere."""

from __future__ import annotations

from legacy.ports import DiscoveredRoute, Evidence, Mismatch, SideFigures


def side(requests: int, errors: int = 0, p50_ms: float | None = None) -> SideFigures:
    return SideFigures(
        requests=requests,
        errors=errors,
        error_rate=errors / requests if requests else None,
        p50_ms=p50_ms if p50_ms is not None else (12.0 if requests else None),
        p99_ms=p50_ms * 3 if p50_ms is not None else (40.0 if requests else None),
    )


def evidence(
    *,
    samples: int = 0,
    mismatches: int = 0,
    legacy: tuple[int, int] = (0, 0),
    function: tuple[int, int] = (0, 0),
    served_by_function: int | None = None,
    noise_paths: tuple[str, ...] = (),
    since: float = 1_000.0,
) -> Evidence:
    requests = legacy[0] + function[0]
    return Evidence(
        since=since,
        requests=requests,
        served_by_function=function[0] if served_by_function is None else served_by_function,
        legacy=side(*legacy),
        function=side(*function),
        samples=samples,
        mismatches=mismatches,
        mismatch_rate=mismatches / samples if samples else None,
        shadow_dropped=0,
        noise_paths=noise_paths,
        example=(
            Mismatch(request="GET /items/7", differences=("$.price: 3 != 4",), at=since + 1)
            if mismatches
            else None
        ),
    )


class StaticObservations:
    """What a router would report, set by the test."""

    def __init__(self) -> None:
        self.by_path: dict[str, Evidence] = {}
        self.routes: list[DiscoveredRoute] = []
        self.total: tuple[int, int] = (0, 0)

    def evidence(self, path: str) -> Evidence | None:
        return self.by_path.get(path)

    def discovered(self) -> list[DiscoveredRoute]:
        return list(self.routes)

    def totals(self) -> tuple[int, int]:
        return self.total
