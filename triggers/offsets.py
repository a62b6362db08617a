"""Which offset of a partition may be committed, when events finish out of order.

An offset is committed only once it and every earlier offset of its partition have
finished (succeeded or been dead-lettered): committing past an unfinished event would
lose it on a crash. Kafka's committed offset is the next one to read, hence `+ 1`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from itertools import pairwise


class OffsetTracker:
    def __init__(self) -> None:
        self._started: deque[int] = deque()  # in the order the partition gave them
        self._finished: set[int] = set()
        self._committable: int | None = None

    def start(self, offset: int) -> None:
        if self._started and offset <= self._started[-1]:
            raise ValueError(f"offset {offset} started after {self._started[-1]}")
        self._started.append(offset)

    def start_all(self, offsets: Sequence[int]) -> None:
        """Offsets in the order the partition gave them (one fetch's records)."""
        for before, after in pairwise(offsets):
            if after <= before:
                raise ValueError(f"offset {after} started after {before}")
        if offsets:
            self.start(offsets[0])
            self._started.extend(offsets[1:])

    def finish(self, offset: int) -> None:
        self.finish_all((offset,))

    def finish_all(self, offsets: Iterable[int]) -> None:
        finished = self._finished
        finished.update(offsets)
        started = self._started
        while started and started[0] in finished:
            done = started.popleft()
            finished.discard(done)
            self._committable = done + 1

    @property
    def committable(self) -> int | None:
        """The offset to commit (one past the last contiguous finished event), if any."""
        return self._committable

    @property
    def oldest_unfinished(self) -> int | None:
        """Where to read again from to miss nothing this tracker has not finished."""
        return self._started[0] if self._started else None

    @property
    def in_flight(self) -> int:
        return len(self._started)
