"""Delivery on the real broker against the Zalo simulator: every error class ends where it should.

Each test runs the real Dispatcher in-process (its own consumer group, topics and OAs) against an
in-process simulator, and checks the outcome where it is visible: what the simulator accepted, what is on
the failure / deferred / dead-letter topics, and the committed offsets.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaProducer

from consumers import dlq
from consumers.dispatcher import Dispatcher
from consumers.retry import read_headers
from consumers.zalo.client import ZaloClient
from hoso.accounts import OA, OARegistry
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from schemas import dumps
from schemas.notification import Notification, Priority
from tests.factories import phone_notice
from tests.integration.dispatching import run_until
from zalo_simulator import OAConfig, SimulatorConfig, start

pytestmark = pytest.mark.broker

OAS = ("oa-quangninh", "oa-quangtri")


def sim_config(**kw) -> SimulatorConfig:
    oas = [
        OAConfig(
            oa_id=oa,
            app_id=f"app-{oa}",
            secret_key=f"secret-{oa}",
            oa_secret_key=f"oa-secret-{oa}",
            access_token=f"access-{oa}",
            refresh_token=f"refresh-{oa}",
            daily_quota=1_000_000,
        )
        for oa in OAS
    ]
    return SimulatorConfig(oas=oas, **kw)


def registry(**overrides) -> OARegistry:
    oas = {
        oa: OA(
            oa_id=oa,
            app_id=f"app-{oa}",
            secret_key=f"secret-{oa}",
            access_token=f"access-{oa}",
            refresh_token=overrides.get("refresh_token", f"refresh-{oa}"),
        )
        for oa in OAS
    }
    return OARegistry(oas=oas, default_oa=OAS[0])


def note(i: int, phone: str, *, oa: str = OAS[0], subscriber: str | None = None, priority=Priority.DOSSIER):
    return phone_notice(
        f"n{i:05d}",
        subscriber_id=subscriber or f"p:s{i}",
        phone=phone,
        name="Hoa",
        oa_id=oa,
        priority=priority,
        template_data={"ten_nguoi_dan": "Hoa", "i": str(i)},
        text=f"tin {i}",
    )


def publish(settings, notes: list[Notification]) -> dict[int, int]:
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    producer = KafkaProducer(**kafka_python(settings))
    ends: dict[int, int] = {}
    for n in notes:
        md = producer.send(topics.notifications.name, key=n.key.encode(), value=dumps(n)).get(10)
        ends[md.partition] = max(ends.get(md.partition, 0), md.offset + 1)
    producer.close()
    return ends


async def topic_records(settings, topic: str) -> list:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        out = []
        while True:
            batch = await consumer.getmany(timeout_ms=1500)
            if not batch:
                return out
            out += [r for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()


async def committed(settings, topic: str) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=settings.dispatcher_group)
    await consumer.start()
    try:
        return {p: await consumer.committed(TopicPartition(topic, p)) or 0 for p in range(settings.partitions)}
    finally:
        await consumer.stop()


def dispatcher_for(settings, sim, **kw) -> Dispatcher:
    settings = settings.replace(zalo_zbs_url=sim.url, zalo_oa_url=sim.url, zalo_oauth_url=sim.url)
    return Dispatcher(settings, registry=kw.pop("registry", registry()), **kw)


async def test_permanent_errors_are_recorded_with_their_code_and_never_retried(settings):
    notes = [note(1, "84912000001"), note(2, "84999000118"), note(3, "84999000139"), note(4, "84999000108")]
    publish(settings, notes)
    async with await start(sim_config()) as sim:
        d = dispatcher_for(settings, sim)
        await run_until(d, lambda: d.stats.sent + d.stats.permanent_failures == 4)
        requests = sim.state.requests
    assert d.stats.sent == 1 and d.stats.permanent_failures == 3
    failures = await topic_records(settings, d.topics.delivery_failures.name)
    got = {orjson.loads(r.value)["notification"]["tracking_id"]: orjson.loads(r.value)["code"] for r in failures}
    assert got == {"n00002": -118, "n00003": -139, "n00004": -108}
    assert all(orjson.loads(r.value)["reason"] for r in failures)
    assert requests == 4, "a permanent error is not retried"


async def test_transient_failures_wait_in_a_kafka_retry_tier_then_are_delivered(settings):
    publish(settings, [note(i, f"8491200{i:04d}") for i in range(10)])
    async with await start(sim_config(faults="5xx=1.0")) as sim:
        d = dispatcher_for(settings, sim)
        await run_until(d, lambda: d.stats.parked >= 10, timeout=30)
        parked = await topic_records(settings, d.topics.notifications_retry_1.name)
        assert len(parked) == 10
        attempt, not_before = read_headers(parked[0].headers)
        assert attempt == 1 and not_before > time.time() - 60
        assert not sim.state.tracking_counts
        async with httpx.AsyncClient(base_url=sim.url) as http:
            await http.post("/_sim/faults", content=b"")
        d2 = dispatcher_for(settings, sim)
        await run_until(d2, lambda: len(sim.state.tracking_counts) == 10, timeout=40)
    assert all(c == 1 for c in sim.state.tracking_counts.values())


async def test_messages_that_keep_failing_are_dead_lettered_and_can_be_replayed(settings):
    settings = settings.replace(dispatch_max_attempts=1)
    publish(settings, [note(i, f"8491300{i:04d}") for i in range(3)])
    async with await start(sim_config(faults="rate_limit=1.0")) as sim:
        d = dispatcher_for(settings, sim)
        await run_until(d, lambda: d.stats.dead_lettered == 3, timeout=30)
        letters = list(dlq.read(kafka_python(settings), d.topics))
        assert sorted(x.tracking_id for x in letters) == ["n00000", "n00001", "n00002"]
        assert all("-32" in x.reason for x in letters)
        async with httpx.AsyncClient(base_url=sim.url) as http:
            await http.post("/_sim/faults", content=b"")
        assert dlq.replay(kafka_python(settings), d.topics, letters) == 3
        d2 = dispatcher_for(settings, sim)
        await run_until(d2, lambda: len(sim.state.tracking_counts) == 3, timeout=30)


async def test_quota_exhaustion_defers_to_the_quota_reset_and_holds_that_oa_only(settings):
    notes = [note(i, f"8491400{i:04d}", oa=OAS[i % 2]) for i in range(6)]
    publish(settings, notes)
    config = sim_config()
    config.oas[0] = dataclasses.replace(config.oas[0], daily_quota=1)
    async with await start(config) as sim:
        d = dispatcher_for(settings, sim)
        await run_until(d, lambda: d.stats.sent + d.stats.parked == 6, timeout=30)
    deferred = await topic_records(settings, d.topics.notifications_deferred.name)
    assert d.stats.sent == 4, "the other OA's messages all went out"
    assert len(deferred) == 2
    for r in deferred:
        _, not_before = read_headers(r.headers)
        assert not_before > time.time() + 60, "held until the quota day resets"


async def test_a_mid_run_token_expiry_causes_exactly_one_refresh_per_oa(settings):
    notes = [note(i, f"8491500{i:04d}", oa=OAS[i % 2]) for i in range(300)]
    publish(settings, notes[:100])
    async with await start(sim_config()) as sim:
        d = dispatcher_for(settings, sim)
        task = asyncio.create_task(d.run())
        async with asyncio.timeout(60):
            while len(sim.state.tracking_counts) < 100:
                await asyncio.sleep(0.05)
            async with httpx.AsyncClient(base_url=sim.url) as http:
                await http.post("/_sim/tokens/expire")
            publish(settings, notes[100:])
            while len(sim.state.tracking_counts) < 300:
                await asyncio.sleep(0.05)
        d.stop()
        await task
        async with httpx.AsyncClient(base_url=sim.url) as http:
            stats = (await http.get("/_sim/stats")).json()
    assert stats["token_refreshes"]["by_oa"] == {OAS[0]: 1, OAS[1]: 1}
    assert all(c == 1 for c in sim.state.tracking_counts.values())


async def test_refreshed_tokens_survive_a_restart(settings):
    publish(settings, [note(1, "84916000001")])
    async with await start(sim_config()) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            await http.post("/_sim/tokens/expire")
        d = dispatcher_for(settings, sim)
        await run_until(d, lambda: d.stats.sent == 1)
        publish(settings, [note(2, "84916000002")])
        d2 = dispatcher_for(settings, sim)  # configured tokens are stale now; the stored pair is not
        await run_until(d2, lambda: d2.stats.sent == 1)
        async with httpx.AsyncClient(base_url=sim.url) as http:
            stats = (await http.get("/_sim/stats")).json()
    assert stats["token_refreshes"]["total"] == 1


async def test_a_refused_refresh_pauses_the_oa_and_parks_its_messages(settings):
    publish(settings, [note(1, "84917000001", oa=OAS[0]), note(2, "84917000002", oa=OAS[1])])
    async with await start(sim_config()) as sim:
        async with httpx.AsyncClient(base_url=sim.url) as http:
            await http.post("/_sim/tokens/expire", json={"oa_id": OAS[0]})
        d = dispatcher_for(settings, sim, registry=registry(refresh_token="revoked-refresh-token"))
        await run_until(d, lambda: d.stats.sent == 1 and d.stats.parked == 1, timeout=30)
    assert OAS[0] in d.tokens.paused
    assert set(sim.state.tracking_counts) == {"n00002"}
    held = await topic_records(settings, d.topics.notifications_retry_3.name)
    assert [orjson.loads(r.value)["tracking_id"] for r in held] == ["n00001"]
    _, not_before = read_headers(held[0].headers)
    assert not_before > time.time() + 60, "re-checked only after a while"


class SlowFor(httpx.AsyncBaseTransport):
    """Delays the request carrying one tracking id; everything else goes straight through."""

    def __init__(self, tracking_id: str, delay: float) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.tracking_id = tracking_id
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.tracking_id.encode() in request.content:
            await asyncio.sleep(self.delay)
        return await self.inner.handle_async_request(request)


async def test_offsets_are_never_committed_past_a_slow_send(settings):
    settings = settings.replace(partitions=1)
    notes = [note(i, f"8491800{i:04d}") for i in range(20)]
    end = publish(settings, notes)[0]
    async with await start(sim_config()) as sim:
        client = ZaloClient(zbs_url=sim.url, oa_url=sim.url, oauth_url=sim.url, transport=SlowFor("n00000", 4.0))
        d = dispatcher_for(settings, sim, client=client)
        task = asyncio.create_task(d.run())
        async with asyncio.timeout(30):
            while len(sim.state.tracking_counts) < 19:
                await asyncio.sleep(0.05)
            await asyncio.sleep(1.2)  # several commit rounds pass while the first send is still in flight
            assert (await committed(settings, d.topics.notifications.name))[0] == 0
            while d.stats.sent < 20:
                await asyncio.sleep(0.05)
        d.stop()
        await task
    assert (await committed(settings, d.topics.notifications.name))[0] == end


async def test_the_sent_log_stops_a_re_read_record_from_being_sent_again(settings):
    notes = [note(i, f"8491900{i:04d}") for i in range(30)]
    publish(settings, notes)
    async with await start(sim_config()) as sim:
        d = dispatcher_for(settings, sim)
        await run_until(d, lambda: d.stats.sent == 30, timeout=120)
        # As after a crash before any commit: a dispatcher that starts from the beginning of the topic
        # (a fresh consumer group, so no offset rewind can race the previous member's departure).
        settings = settings.replace(dispatcher_group=settings.dispatcher_group + "-after-crash")
        d2 = dispatcher_for(settings, sim)
        await run_until(d2, lambda: d2.stats.already_sent == 30, timeout=120)
    assert d2.stats.sent == 0
    assert all(c == 1 for c in sim.state.tracking_counts.values())


def settled_with_one_leader(*dispatchers: Dispatcher) -> bool:
    """Every member owns a share of the notifications topic and exactly one of them holds partition 0."""
    shares = [{tp for tp in d.owned if tp.topic == d.topics.notifications.name} for d in dispatchers]
    return all(shares) and sum(d._is_token_leader() for d in dispatchers) == 1


async def test_two_dispatchers_share_one_refresh_per_oa_through_the_token_leader(settings):
    notes = [note(i, f"8492000{i:04d}", oa=OAS[i % 2]) for i in range(400)]
    publish(settings, notes[:100])
    async with await start(sim_config()) as sim:
        first, second = dispatcher_for(settings, sim), dispatcher_for(settings, sim)
        tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
        async with asyncio.timeout(90):
            # Leadership follows partition 0, which is owned only once its sent-log is loaded after a rebalance:
            # wait for the group to settle with both members owning notification partitions and exactly one
            # leader (a timeout here means it never did).
            while len(sim.state.tracking_counts) < 100 or not settled_with_one_leader(first, second):
                await asyncio.sleep(0.05)
            async with httpx.AsyncClient(base_url=sim.url) as http:
                await http.post("/_sim/tokens/expire")
            publish(settings, notes[100:])
            while len(sim.state.tracking_counts) < 400:
                await asyncio.sleep(0.05)
        for d in (first, second):
            d.stop()
        await asyncio.gather(*tasks)
        async with httpx.AsyncClient(base_url=sim.url) as http:
            stats = (await http.get("/_sim/stats")).json()
    assert first.stats.sent > 0 and second.stats.sent > 0, "both dispatchers did part of the work"
    assert stats["token_refreshes"]["by_oa"] == {OAS[0]: 1, OAS[1]: 1}
    assert all(c == 1 for c in sim.state.tracking_counts.values())
