"""Delivery when things go wrong around a send: each test reproduces one defect of issue 16 on the real
broker and the Zalo simulator, and states the behaviour that fixes it.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.partitioner.default import murmur2

from consumers import dlq
from consumers.retry import read_headers
from consumers.tokens import TokenState, TokenStore
from consumers.zalo.client import ZaloClient
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import aiokafka as aiokafka_config
from hoso.kafka.clients import kafka_python
from schemas.common import VN_TZ, now_vn
from schemas.notification import Priority
from tests.integration.dispatching import run_until
from tests.integration.test_delivery_broker import (
    OAS,
    dispatcher_for,
    note,
    publish,
    registry,
    sim_config,
    topic_records,
)
from zalo_simulator import start

pytestmark = pytest.mark.broker


def set_max_message_bytes(settings, topic: str, limit: int) -> None:
    admin = KafkaAdminClient(**kafka_python(settings))
    try:
        config = ConfigResource(ConfigResourceType.TOPIC, topic, configs={"max.message.bytes": str(limit)})
        admin.alter_configs([config])
    finally:
        admin.close()


async def test_a_failing_sent_log_write_retries_the_write_only_never_the_send(settings):
    """Before: a sent-log write that raised re-ran the whole handler (a second Zalo send each time, then a
    dead letter). Now: Zalo is called once, only the write is retried, and it lands once the broker takes it."""
    publish(settings, [])
    sent_log = settings.topics.sent_log.name
    set_max_message_bytes(settings, sent_log, 16)  # the broker refuses every sent-log record for now
    publish(settings, [note(1, "84913000001")])
    async with await start(sim_config()) as sim:
        d = dispatcher_for(settings, sim)
        task = asyncio.create_task(d.run())
        try:
            async with asyncio.timeout(60):
                while d.stats.sent_log_write_retries < 3:
                    await asyncio.sleep(0.05)
                assert sim.state.tracking_counts == {"n00001": 1}
                set_max_message_bytes(settings, sent_log, 1_048_588)  # the broker is well again
                while not await topic_records(settings, sent_log):
                    await asyncio.sleep(0.2)
        finally:
            d.stop()
            await task
    assert sim.state.tracking_counts == {"n00001": 1}, "the Zalo call was never repeated"
    assert d.stats.dead_lettered == 0 and d.stats.sent == 1
    logged = [orjson.loads(r.value)["tracking_id"] for r in await topic_records(settings, sent_log)]
    assert logged == ["n00001"]


class Slow(httpx.AsyncBaseTransport):
    """Every send takes ``delay`` seconds (a slow Zalo), so chains are mid-way when partitions move."""

    def __init__(self, delay: float) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(self.delay)
        return await self.inner.handle_async_request(request)


async def test_a_dispatcher_stops_sending_for_partitions_it_lost_in_a_rebalance(settings):
    """Before: chains of revoked partitions kept sending while the new owner started from the committed
    offset, so messages went out twice. Now: a chain stops before its next send once its partition is gone."""
    settings = settings.replace(partitions=2)
    # Two recipients with a long queue each, one per partition.
    subscribers = one_per_partition(2)
    notes = [note(i, f"8491400{i:04d}", subscriber=subscribers[i % 2]) for i in range(60)]
    publish(settings, notes)
    async with await start(sim_config()) as sim:

        def slow_dispatcher():
            client = ZaloClient(zbs_url=sim.url, oa_url=sim.url, oauth_url=sim.url, transport=Slow(0.3))
            return dispatcher_for(settings, sim, client=client)

        first, second = slow_dispatcher(), slow_dispatcher()
        tasks = [asyncio.create_task(first.run())]
        async with asyncio.timeout(120):
            while len(sim.state.tracking_counts) < 6:
                await asyncio.sleep(0.05)
            tasks.append(asyncio.create_task(second.run()))  # a rebalance moves a partition mid-queue
            while len(sim.state.tracking_counts) < 60:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.0)
        for d in (first, second):
            d.stop()
        await asyncio.gather(*tasks)
    assert second.stats.sent > 0, "the second dispatcher took over a partition"
    assert first.stats.stopped_for_revocation > 0, "the first one stopped the chain it lost"
    assert {t: c for t, c in sim.state.tracking_counts.items() if c > 1} == {}


def one_per_partition(partitions: int) -> list[str]:
    """Subscriber ids whose keys land on partitions 0, 1, ... (the default murmur2 partitioner)."""
    found: dict[int, str] = {}
    for i in range(1000):
        subscriber = f"p:queue{i}"
        key = note(0, "84914000000", subscriber=subscriber).key.encode()
        found.setdefault((murmur2(key) & 0x7FFFFFFF) % partitions, subscriber)
        if len(found) == partitions:
            break
    return [found[p] for p in range(partitions)]


class HoldRefresh(httpx.AsyncBaseTransport):
    """The token endpoint answers only after ``delay`` seconds; sends go straight through."""

    def __init__(self, delay: float) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/access_token"):
            await asyncio.sleep(self.delay)
        return await self.inner.handle_async_request(request)


async def test_a_slow_token_refresh_of_one_oa_does_not_stall_the_other_oa(settings):
    """Before: callers waiting for one OA's new token held the shared concurrency slots, so every OA
    stopped. Now: a slot is held only around the HTTP exchange."""
    settings = settings.replace(dispatch_concurrency=2)
    stuck = [note(i, f"8491100{i:04d}", oa=OAS[0]) for i in range(6)]
    fine = [note(100 + i, f"8491200{i:04d}", oa=OAS[1]) for i in range(20)]
    async with await start(sim_config()) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            await http.post("/_sim/tokens/expire", json={"oa_id": OAS[0]})
        publish(settings, stuck + fine)
        client = ZaloClient(
            zbs_url=sim.url, oa_url=sim.url, oauth_url=sim.url, max_connections=2, transport=HoldRefresh(20.0)
        )
        d = dispatcher_for(settings, sim, client=client)
        started = time.monotonic()
        done_at: list[float] = []

        def all_fine_sent() -> bool:
            if sum(1 for n in fine if n.tracking_id in sim.state.tracking_counts) == 20:
                done_at.append(time.monotonic())
                return True
            return False

        await run_until(d, all_fine_sent, 60)
    assert done_at[0] - started < 15, "the other OA's messages went out while the refresh was pending"


async def test_a_paused_oa_is_a_shared_fact_and_its_messages_are_parked_by_every_dispatcher(settings):
    """Before: only the leader knew an OA was paused; the others retried its messages into the dead-letter
    topic. Now: the pause is on the compacted token topic and a dispatcher started later parks at once."""
    publish(settings, [note(1, "84917100001", oa=OAS[0])])
    async with await start(sim_config()) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            await http.post("/_sim/tokens/expire", json={"oa_id": OAS[0]})
        revoked = registry(refresh_token="revoked-refresh-token")
        d = dispatcher_for(settings, sim, registry=revoked)
        await run_until(d, lambda: d.stats.parked == 1, timeout=30)
        assert OAS[0] in d.tokens.paused
        publish(settings, [note(2, "84917100002", oa=OAS[0]), note(3, "84917100003", oa=OAS[1])])
        later = dispatcher_for(settings.replace(dispatcher_group=settings.dispatcher_group + "-b"), sim)
        await run_until(later, lambda: later.stats.sent >= 1 and later.stats.parked >= 2, timeout=30)
        async with httpx.AsyncClient(base_url=sim.url) as http:
            refreshes = (await http.get("/_sim/stats")).json()["token_refreshes"]
    assert OAS[0] in later.tokens.paused, "the pause was read from the token topic"
    assert later.stats.dead_lettered == 0
    assert refreshes["by_oa"].get(OAS[0], 0) == 0, "nobody spent the refresh token again"
    assert "n00003" in sim.state.tracking_counts and "n00002" not in sim.state.tracking_counts


async def test_one_damaged_token_record_neither_blocks_start_nor_costs_the_valid_pairs(settings):
    create_topics(kafka_python(settings), settings.topics)
    topic = settings.topics.oa_tokens.name
    producer = AIOKafkaProducer(**aiokafka_config(settings))
    await producer.start()
    try:
        good = TokenState("access-new", "refresh-new", time.time() + 3600, 3600, 4)
        await producer.send_and_wait(topic, key=OAS[0].encode(), value=b'{"access_token": "half a rec')
        await producer.send_and_wait(topic, key=OAS[1].encode(), value=good.to_bytes())
        store = TokenStore(aiokafka_config(settings), topic)
        found = await store.start()
        assert found.states == {OAS[1]: good} and store.skipped == 1
        # The same while following: a damaged record between two valid ones.
        await producer.send_and_wait(topic, key=OAS[0].encode(), value=b"\xff\xfe not json")
        newer = TokenState("access-5", "refresh-5", time.time() + 3600, 3600, 5)
        await producer.send_and_wait(topic, key=OAS[1].encode(), value=newer.to_bytes())
        seen = {}
        async with asyncio.timeout(20):
            while OAS[1] not in seen:
                seen.update((await store.updates()).states)
        await store.stop()
    finally:
        await producer.stop()
    assert seen == {OAS[1]: newer} and store.skipped == 2


async def test_dlq_list_shows_raw_dead_letters_instead_of_crashing(settings):
    create_topics(kafka_python(settings), settings.topics)
    producer = AIOKafkaProducer(**aiokafka_config(settings))
    await producer.start()
    try:
        dead = settings.topics.notifications_dead.name
        await producer.send_and_wait(dead, key=b"k1", value=b'{"notification": null, "reason": "unexpected"}')
        await producer.send_and_wait(dead, key=b"k2", value=b"not json at all")
        await producer.send_and_wait(dead, key=b"k3", value=b'{"notification": "text", "attempts": "x"}')
    finally:
        await producer.stop()
    letters = list(dlq.read(kafka_python(settings), settings.topics))
    assert [(x.key, x.reason, x.tracking_id) for x in letters] == [
        (b"k1", "unexpected", ""),
        (b"k2", "not a dead-letter record (unreadable value)", ""),
        (b"k3", "", ""),
    ]


def window_around_now() -> str:
    local = now_vn().astimezone(VN_TZ)
    start, end = local - timedelta(minutes=30), local + timedelta(minutes=30)
    return f"{start:%H:%M}-{end:%H:%M}"


async def test_quiet_hours_are_rechecked_at_send_time_and_only_emergencies_go_out(settings):
    """A retry, a backlog or a replay can reach the dispatcher at night: non-emergency messages wait on the
    deferred topic until the window ends (never dropped); emergencies go out."""
    settings = settings.replace(quiet_hours=window_around_now())
    publish(settings, [note(1, "84918100001"), note(2, "84918100002", priority=Priority.EMERGENCY)])
    async with await start(sim_config()) as sim:
        d = dispatcher_for(settings, sim)
        await run_until(d, lambda: d.stats.sent == 1 and d.stats.quiet_deferred == 1, timeout=30)
    assert set(sim.state.tracking_counts) == {"n00002"}
    waiting = await topic_records(settings, d.topics.notifications_deferred.name)
    assert [orjson.loads(r.value)["tracking_id"] for r in waiting] == ["n00001"]
    _, not_before = read_headers(waiting[0].headers)
    assert 60 * 25 < not_before - time.time() <= 60 * 31, "released when the window ends"
