"""Least outstanding requests among routable endpoints, with a fake clock for the
simulation of a slow endpoint beside a fast one."""

from __future__ import annotations

import heapq
from collections import Counter

from runtime_adapters.url.balancer import Balancer
from runtime_adapters.url.endpoint import Endpoint
from runtime_adapters.url.settings import EndpointUrl, Outlier


def endpoints(count: int) -> list[Endpoint]:
    made = []
    for port in range(8001, 8001 + count):
        endpoint = Endpoint(EndpointUrl(host="127.0.0.1", port=port), outlier=Outlier())
        endpoint.checked(None, now=0.0)
        made.append(endpoint)
    return made


def ports(picked: list[Endpoint | None]) -> list[int | None]:
    return [e.url.port if e else None for e in picked]


def test_the_endpoint_with_fewest_outstanding_requests_is_picked() -> None:
    a, b, c = endpoints(3)
    a.outstanding, b.outstanding, c.outstanding = 2, 0, 1
    balancer = Balancer([a, b, c], concurrency=8)
    assert balancer.pick() is b
    assert b.outstanding == 1  # taken by the pick
    assert balancer.pick() in (b, c)  # both at 1 now, a at 2


def test_ties_go_round_robin_so_one_request_at_a_time_spreads_evenly() -> None:
    group = endpoints(3)
    balancer = Balancer(group, concurrency=8)
    picked = []
    for _ in range(9):
        endpoint = balancer.pick()
        assert endpoint is not None
        picked.append(endpoint.url.port)
        endpoint.outstanding -= 1  # answered before the next one arrives
    assert picked == [8001, 8002, 8003] * 3


def test_no_endpoint_takes_more_than_concurrency() -> None:
    a, b = endpoints(2)
    balancer = Balancer([a, b], concurrency=2)
    assert ports([balancer.pick() for _ in range(5)]) == [8001, 8002, 8001, 8002, None]
    assert (a.outstanding, b.outstanding) == (2, 2)


def test_unroutable_and_excluded_endpoints_are_passed_over() -> None:
    a, b, c, d = endpoints(4)
    b.answered("answered 500", 0.0)
    for _ in range(4):
        b.answered("answered 500", 0.0)  # ejected: 5 in a row
    c.checked("connection refused", now=0.0)
    c.checked("connection refused", now=1.0)
    c.checked("connection refused", now=2.0)  # down
    balancer = Balancer([a, b, c, d], concurrency=8)
    assert [e.state() for e in (a, b, c, d)] == ["healthy", "ejected", "down", "healthy"]
    assert ports([balancer.pick(exclude=[a]) for _ in range(2)]) == [8004, 8004]
    assert balancer.routable(exclude=[a, d]) is False
    assert balancer.routable(exclude=[a]) is True
    assert balancer.pick(exclude=[a, d]) is None


def test_a_slow_endpoint_is_sent_fewer_requests_than_a_fast_one() -> None:
    """Requests arrive every 10 ms; `slow` answers in 100 ms, `fast` in 5 ms. Round
    robin would send each half; least outstanding sends the slow one only what
    arrives while it has fewer requests outstanding than the fast one (none)."""
    slow, fast = endpoints(2)
    service_ms = {slow: 100, fast: 5}
    balancer = Balancer([slow, fast], concurrency=100)
    done: list[tuple[int, int, Endpoint]] = []  # (answer time, sequence, endpoint)
    sent: Counter[int] = Counter()
    for sequence, now in enumerate(range(0, 10_000, 10)):
        while done and done[0][0] <= now:
            heapq.heappop(done)[2].outstanding -= 1
        endpoint = balancer.pick()
        assert endpoint is not None
        sent[endpoint.url.port] += 1
        heapq.heappush(done, (now + service_ms[endpoint], sequence, endpoint))
    assert sent[fast.url.port] + sent[slow.url.port] == 1000
    # the fast one is idle again whenever a request arrives; the slow one gets only
    # the ties the round robin hands it while it has nothing outstanding
    assert sent[slow.url.port] <= 100
    assert sent[fast.url.port] >= 900
