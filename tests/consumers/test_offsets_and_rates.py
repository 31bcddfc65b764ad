"""Commit positions never pass an unfinished record; rate buckets serve higher priority first."""

from __future__ import annotations

import asyncio

from consumers.offsets import OffsetTracker
from consumers.ratelimit import PriorityBucket
from consumers.retry import RetrySchedule, headers, read_headers
from schemas.topics import catalogue


def test_a_slow_record_holds_the_commit_position_until_it_finishes():
    t = OffsetTracker()
    for off in range(10, 15):
        t.started("p0", off)
    for off in (11, 12, 13, 14):
        t.finished("p0", off)
    assert t.committable() == {"p0": 10}
    t.finished("p0", 10)
    assert t.committable() == {"p0": 15}


def test_partitions_advance_independently_and_revoked_ones_are_forgotten():
    t = OffsetTracker()
    t.started("a", 0)
    t.started("b", 7)
    t.finished("b", 7)
    assert t.committable() == {"a": 0, "b": 8}
    t.forget(["a"])
    assert t.committable() == {"b": 8} and t.in_flight == 0


def test_offset_gaps_do_not_block_once_nothing_is_pending():
    t = OffsetTracker()
    t.started("p", 3)
    t.started("p", 6)  # 4 and 5 are transaction markers or compacted away
    t.finished("p", 3)
    t.finished("p", 6)
    assert t.committable() == {"p": 7}


async def test_when_the_rate_is_the_bottleneck_emergencies_go_first():
    bucket = PriorityBucket(rate=50, burst=1)
    await bucket.acquire(1)  # use the burst
    order: list[str] = []

    async def want(name: str, priority: int) -> None:
        await bucket.acquire(priority)
        order.append(name)

    await asyncio.gather(want("survey", 2), want("dossier", 1), want("alert", 0))
    assert order == ["alert", "dossier", "survey"]


def test_retry_rounds_walk_the_tiers_then_dead_letter():
    topics = catalogue("x", 4, "app")
    schedule = RetrySchedule.for_topics(topics, max_rounds=5)
    names = [schedule.next(r)[0] for r in range(1, 5)]
    assert names == [
        topics.notifications_retry_1.name,
        topics.notifications_retry_2.name,
        topics.notifications_retry_3.name,
        topics.notifications_retry_3.name,
    ]
    assert schedule.next(5) is None
    assert RetrySchedule.for_topics(topics, max_rounds=1).next(1) is None


def test_retry_headers_round_trip():
    assert read_headers(headers(3, 1_800_000_000.5, "HTTP 503")) == (3, 1_800_000_000.5)
    assert read_headers(None) == (0, 0.0)
    assert read_headers([("hoso-attempt", b"x")]) == (0, 0.0)
