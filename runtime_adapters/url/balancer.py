"""Least outstanding requests: each request goes to the routable endpoint answering the
fewest requests now, among those below `concurrency`. A slow or stuck endpoint holds
its requests longer, so it is sent fewer. Ties go round-robin, so that requests one at
a time (when every endpoint has none outstanding) still spread evenly.

Endpoints are few (a revision lists them), so every pick looks at all of them, rather
than at two random ones as Envoy's LEAST_REQUEST does for large clusters.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from runtime_adapters.url.endpoint import Endpoint


class Balancer:
    def __init__(self, endpoints: Sequence[Endpoint], *, concurrency: int) -> None:
        self.endpoints = tuple(endpoints)
        self._concurrency = concurrency
        self._next = 0  # where the next tie-break starts

    def pick(self, *, exclude: Collection[Endpoint] = ()) -> Endpoint | None:
        """The endpoint for the next request, its outstanding count taken; None when
        no routable endpoint outside `exclude` has a free slot."""
        endpoints = self.endpoints
        count = len(endpoints)
        best: Endpoint | None = None
        best_at = 0
        for step in range(count):
            at = (self._next + step) % count
            endpoint = endpoints[at]
            if (
                endpoint.routable
                and endpoint.outstanding < self._concurrency
                and (best is None or endpoint.outstanding < best.outstanding)
                and endpoint not in exclude
            ):
                best, best_at = endpoint, at
        if best is not None:
            best.outstanding += 1
            self._next = (best_at + 1) % count
        return best

    def routable(self, *, exclude: Collection[Endpoint] = ()) -> bool:
        """Whether any endpoint outside `exclude` takes requests, busy or not."""
        return any(e.routable and e not in exclude for e in self.endpoints)
