"""The dispatcher on the real broker against the Zalo simulator: delivery, order, failures, commits."""

from __future__ import annotations

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from kafka import KafkaProducer

from consumers.dispatcher import Dispatcher
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from schemas import dumps
from schemas.notification import Notification
from tests.factories import phone_notice
from tests.integration.dispatching import run_until
from zalo_simulator import SimulatorConfig, start

pytestmark = pytest.mark.broker


def notification(i: int, phone: str, subscriber: str) -> Notification:
    return phone_notice(
        f"t{i:04d}",
        subscriber_id=subscriber,
        phone=phone,
        template_data={"ten_nguoi_dan": "Lan", "seq": str(i)},
        text=f"tin {i}",
    )


async def committed(settings, topic: str, partitions: int) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, group_id=settings.dispatcher_group)
    await consumer.start()
    try:
        out = {}
        for p in range(partitions):
            out[p] = await consumer.committed(TopicPartition(topic, p)) or 0
        return out
    finally:
        await consumer.stop()


async def test_every_notification_is_sent_once_in_order_per_recipient_and_offsets_committed(settings):
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    producer = KafkaProducer(bootstrap_servers=settings.bootstrap)
    records = [notification(i, f"8491{i % 7:07d}", f"p:sub{i % 7}") for i in range(60)]
    records.append(notification(999, "84999000118", "p:magic"))  # simulator: -118, no Zalo account
    end: dict[int, int] = {}
    for n in records:
        md = producer.send(topics.notifications.name, key=n.key.encode(), value=dumps(n)).get(10)
        end[md.partition] = md.offset + 1
    producer.close()

    async with await start(SimulatorConfig()) as sim:
        settings = settings.replace(zalo_zbs_url=sim.url, zalo_oa_url=sim.url)
        dispatcher = Dispatcher(settings)
        await run_until(dispatcher, lambda: dispatcher.stats.sent + dispatcher.stats.permanent_failures >= 61, 30)
        counts = sim.state.tracking_counts
        order = [m.tracking_id for m in sim.state.messages]

    assert dispatcher.stats.sent == 60 and dispatcher.stats.permanent_failures == 1
    assert set(counts) == {n.tracking_id for n in records[:60]}
    assert all(c == 1 for c in counts.values())
    for sub in range(7):
        mine = [t for t in order if int(t[1:]) % 7 == sub]
        assert mine == sorted(mine), "one recipient's messages keep their order"
    got = await committed(settings, topics.notifications.name, settings.partitions)
    assert {p: got[p] for p in end} == end

    consumer = AIOKafkaConsumer(
        topics.delivery_failures.name, bootstrap_servers=settings.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=5000)
        failures = [orjson.loads(r.value) for rs in batch.values() for r in rs]
    finally:
        await consumer.stop()
    assert [(f["outcome"], f["code"], f["notification"]["tracking_id"]) for f in failures] == [
        ("permanent_failure", -118, "t0999")
    ]
