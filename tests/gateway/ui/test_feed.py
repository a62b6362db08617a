"""Followers of the dashboard: each topic once however often it was marked, and a close
that ends every stream."""

from __future__ import annotations

import asyncio

from gateway.ui.feed import CLOSE, Feed, event


async def test_a_follower_gets_each_pending_topic_once() -> None:
    feed = Feed()
    feed.publish("overview")  # before anyone follows: nobody to tell
    follower = feed.follow()
    assert await follower.next(0.01) == set()
    for _ in range(3):
        feed.publish("sample")
    feed.publish("overview")
    assert await follower.next(1) == {"sample", "overview"}
    assert await follower.next(0.01) == set()


async def test_close_reaches_every_follower_and_those_who_come_after() -> None:
    feed = Feed()
    first, second = feed.follow(), feed.follow()
    waiting = asyncio.ensure_future(first.next(5))
    await asyncio.sleep(0)
    feed.close()
    assert await waiting == {CLOSE}
    assert await second.next(1) == {CLOSE}
    assert await feed.follow().next(1) == {CLOSE}


async def test_a_follower_that_leaves_is_no_longer_counted() -> None:
    feed = Feed()
    follower = feed.follow()
    assert feed.followers == 1
    feed.leave(follower)
    assert feed.followers == 0


def test_an_event_is_one_sse_message() -> None:
    assert event("overview", '{"a":1}') == b'event: overview\ndata: {"a":1}\n\n'
