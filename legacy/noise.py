"""Noise learned the way Diffy does it: what differs between two answers of the old API.

A sample of shadowed requests is sent to the old API twice. Whatever differs between
its two answers to the same request (a random id, a timestamp) cannot be a mismatch of
the function's, so those paths are noise for the route, and a difference at or under a
noise path is never counted.

Indices are generalised to `[*]`, so a random id in every element of a list is learned
once, as `$.items[*].id`. `body` (two different non-JSON bodies) and `header:NAME` are
learned too. `status` never is: an old API whose status changes between two calls of the
same request is flaky, and learning that would hide every wrong status a function gives.
"""

from __future__ import annotations

from legacy.compare import Comparison, Difference, compare, json_path, parse_json_path
from legacy.config import CompareConfig
from legacy.ports import CapturedResponse

# Paths per route. Generalised indices keep a real API's noise to a handful of paths;
# the bound is for answers keyed by random values (a map from ids), whose every key
# would be a new path: it keeps a route's memory fixed however long the gateway runs.
DEFAULT_LIMIT = 100


class RouteNoise:
    """The noise paths of one route: bounded, and reported sorted."""

    def __init__(self, *, limit: int = DEFAULT_LIMIT) -> None:
        if limit < 1:
            raise ValueError(f"a noise limit is at least 1 path, got {limit}")
        self.limit = limit
        self._paths: set[str] = set()
        # Paths learned once the set was full: not kept, so the differences there still
        # count as mismatches: a full set errs towards reporting, never towards hiding.
        self.dropped = 0

    def paths(self) -> tuple[str, ...]:
        return tuple(sorted(self._paths))

    def learn(
        self, first: CapturedResponse, second: CapturedResponse, config: CompareConfig
    ) -> tuple[str, ...]:
        """Learn from two answers of the old API to one request; the paths new to the set."""
        learned: list[str] = []
        # What is ignored or learned already is skipped, so it is not learned twice.
        for difference in compare(first, second, config, skip=self._paths).differences:
            path = noise_path(difference)
            if path is None or path in self._paths:
                continue
            if len(self._paths) >= self.limit:
                self.dropped += 1
                continue
            # A parent learned later (a list that changed length) covers its children.
            covered = {old for old in self._paths if _under(old, path)}
            self._paths -= covered
            self._paths.add(path)
            learned = [old for old in learned if old not in covered] + [path]
        return tuple(learned)

    def compare(
        self, old: CapturedResponse, new: CapturedResponse, config: CompareConfig
    ) -> Comparison:
        """The old API's answer and the function's compared, the noise never counted."""
        return compare(old, new, config, skip=self._paths)


def _under(path: str, parent: str) -> bool:
    if not (path.startswith("$") and parent.startswith("$")):
        return False
    steps, parent_steps = parse_json_path(path), parse_json_path(parent)
    return steps[: len(parent_steps)] == parent_steps


def noise_path(difference: Difference) -> str | None:
    """Where a difference between two old answers is noise; None for `status`."""
    if difference.where == "status":
        return None
    if not difference.where.startswith("$"):
        return difference.where
    steps = parse_json_path(difference.where)
    return json_path(None if isinstance(step, int) else step for step in steps)
