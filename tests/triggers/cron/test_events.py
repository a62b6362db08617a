"""Cron ticks, from running CronSubscribers with generated payloads, become events that
the official CloudEvents SDK validates and round-trips."""

from __future__ import annotations

from datetime import datetime

from dateutil.parser import isoparse
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.triggers.cloudevents_oracle import check
from tests.triggers.cron.test_subscriber import running, subscriber
from tests.triggers.kit import FakeDispatch, eventually
from tests.triggers.strategies import json_values

functions = st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True)


def _name(tick: tuple[str, object]) -> str:
    return tick[0]


@settings(max_examples=3, deadline=None)
@given(
    ticks=st.lists(
        st.tuples(functions, json_values), min_size=1, max_size=4, unique_by=lambda t: t[0]
    )
)
async def test_ticks_become_cloudevents_the_sdk_validates_and_round_trips(
    ticks: list[tuple[str, object]],
) -> None:
    dispatches = [FakeDispatch() for _ in ticks]
    subs = [
        subscriber(dispatch, trigger_id=f"{function}/cron/0", payload=payload)
        for dispatch, (function, payload) in zip(dispatches, ticks, strict=True)
    ]
    async with running(*subs):
        await eventually(lambda: all(d.events for d in dispatches), within=5, what="a tick each")
    for dispatch, (function, payload) in zip(dispatches, ticks, strict=True):
        event = dispatch.events[0]
        check(event)
        assert event["id"] == f"{function}/cron/0@{event['time']}"
        assert event["source"] == f"gaia/cron/{function}/cron/0"
        assert event["type"] == "dev.gaia.cron.tick" and event["subject"] == "* * * * * *"
        assert event["data"] == payload and event["replica"] == "r1"
        scheduled: datetime = isoparse(event["time"])
        assert scheduled.microsecond == 0 and scheduled.utcoffset() is not None
        assert dict(event.headers) == {} and "datacontenttype" not in event
