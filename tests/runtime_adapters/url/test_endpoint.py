"""One endpoint's health, ejection and readmission, against a clock the test moves."""

from __future__ import annotations

import pytest

from runtime_adapters.base import EndpointStatus
from runtime_adapters.url.endpoint import DOWN_AFTER_CHECKS, Endpoint
from runtime_adapters.url.settings import EndpointUrl, Outlier

URL = EndpointUrl(host="10.0.0.7", port=8080)


def healthy(outlier: Outlier | None = None) -> Endpoint:
    endpoint = Endpoint(URL, outlier=outlier or Outlier())
    endpoint.checked(None, now=0.0)
    assert endpoint.state() == "healthy"
    return endpoint


def fail(endpoint: Endpoint, times: int, *, now: float, why: str = "answered 503") -> list[bool]:
    return [endpoint.answered(why, now) for _ in range(times)]


def test_an_endpoint_takes_requests_only_once_a_health_check_passed() -> None:
    endpoint = Endpoint(URL, outlier=Outlier())
    assert (endpoint.state(), endpoint.routable) == ("unchecked", False)
    assert endpoint.detail(0.0) == "no health check has passed yet"
    endpoint.checked(None, now=1.0)
    assert (endpoint.state(), endpoint.routable, endpoint.detail(1.0)) == ("healthy", True, "")
    assert endpoint.status(1.0) == EndpointStatus(
        url="http://10.0.0.7:8080", state="healthy", in_flight=0, detail=""
    )


def test_a_first_failed_check_leaves_it_down_and_says_what_it_saw() -> None:
    endpoint = Endpoint(URL, outlier=Outlier())
    endpoint.checked("GET /healthz: answered 500", now=0.0)
    assert (endpoint.state(), endpoint.routable) == ("down", False)
    assert endpoint.detail(0.0) == "health check failed: GET /healthz: answered 500"


def test_a_healthy_endpoint_goes_down_after_three_failed_checks_in_a_row() -> None:
    assert DOWN_AFTER_CHECKS == 3  # a Kubernetes probe's failureThreshold
    endpoint = healthy()
    endpoint.checked("connection refused", now=1.0)
    endpoint.checked("connection refused", now=2.0)
    endpoint.checked(None, now=3.0)  # a pass starts the count again
    for now in (4.0, 5.0):
        endpoint.checked("connection refused", now=now)
        assert endpoint.routable
    endpoint.checked("no connection within 1s", now=6.0)
    assert (endpoint.state(), endpoint.routable) == ("down", False)
    assert endpoint.detail(6.0) == (
        "3 health checks failed in a row, the last: no connection within 1s"
    )
    endpoint.checked(None, now=7.0)  # one pass brings it back (successThreshold 1)
    assert endpoint.state() == "healthy"


def test_consecutive_failures_eject_it_and_a_success_starts_the_count_again() -> None:
    endpoint = healthy(Outlier(consecutive_failures=3, cooldown_s=30.0))
    assert fail(endpoint, 2, now=10.0) == [False, False]
    assert endpoint.detail(10.0) == "2 failed in a row, the last: answered 503"
    assert endpoint.answered(None, 10.0) is False
    assert fail(endpoint, 2, now=11.0) == [False, False]
    assert endpoint.routable
    assert fail(endpoint, 1, now=12.0, why="no answer within 10s") == [True]
    assert (endpoint.state(), endpoint.routable, endpoint.ejected_until) == ("ejected", False, 42.0)
    assert endpoint.detail(12.5) == (
        "after 3 failures in a row, the last: no answer within 10s; cool-down ends in 29.5s"
    )
    # requests still outstanding when it was ejected fail too: no second ejection
    assert fail(endpoint, 3, now=20.0) == [False, False, False]
    assert endpoint.ejected_until == 42.0


def test_readmission_waits_for_the_cooldown_and_then_a_passing_check() -> None:
    endpoint = healthy(Outlier(consecutive_failures=1, cooldown_s=30.0))
    assert fail(endpoint, 1, now=100.0) == [True]
    endpoint.checked(None, now=129.9)  # passing, but within the cool-down
    assert endpoint.state() == "ejected"
    assert endpoint.detail(130.0) == (
        "after 1 failure in a row, the last: answered 503;"
        " cool-down over, back on its next passing health check"
    )
    endpoint.checked("GET /healthz: answered 503", now=131.0)  # over, but failing
    assert endpoint.state() == "ejected"
    endpoint.checked(None, now=140.0)
    assert (endpoint.state(), endpoint.routable) == ("healthy", True)
    assert endpoint.failures == 0
    # ejected again by the next run of failures, not by what came before
    assert fail(endpoint, 1, now=141.0) == [True]
    assert endpoint.ejected_until == 171.0


def test_a_check_exactly_at_the_end_of_the_cooldown_readmits() -> None:
    endpoint = healthy(Outlier(consecutive_failures=1, cooldown_s=5.0))
    endpoint.answered("answered 500", 10.0)
    endpoint.checked(None, now=15.0)
    assert endpoint.routable


@pytest.mark.parametrize(
    ("ejected_until", "checked_at", "due"),
    [
        (None, 100.0, 110.0),  # not ejected: an interval later
        (103.0, 100.0, 103.0),  # the cool-down ends first: then
        (125.0, 100.0, 110.0),  # the interval ends first: then
        (100.0, 100.0, 110.0),  # over already (that check failed): an interval, no busy loop
        (90.0, 100.0, 110.0),
    ],
)
def test_the_next_check_comes_an_interval_later_or_when_the_cooldown_ends(
    ejected_until: float | None, checked_at: float, due: float
) -> None:
    endpoint = healthy()
    endpoint.ejected_until = ejected_until
    assert endpoint.next_check_at(checked_at, 10.0) == due
