"""Fan-out batches on the real broker: each record where Kafka's default partitioner puts its key, none lost."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, TopicPartition

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from streams import bulk_produce
from streams.bulk_produce import ReadFailed, bulk_producer, send_partitioned
from streams.fanout import partition_of

pytestmark = [pytest.mark.broker]


def read_all(settings: Settings, topic: str, partitions: int) -> dict[bytes, tuple[int, bytes]]:
    """``key -> (partition, value)`` of everything on ``topic``, failing on a key seen twice."""
    consumer = KafkaConsumer(**kafka_python(settings), enable_auto_commit=False, group_id=None)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    ends = consumer.end_offsets(tps)
    out: dict[bytes, tuple[int, bytes]] = {}
    try:
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for tp, records in consumer.poll(timeout_ms=1000).items():
                for r in records:
                    assert r.key not in out, f"{r.key!r} written twice"
                    out[r.key] = (tp.partition, r.value)
    finally:
        consumer.close()
    return out


async def test_every_record_lands_once_on_its_keys_partition_across_many_full_batches(settings, monkeypatch):
    monkeypatch.setattr(bulk_produce, "BATCH_BYTES", 16 * 1024)  # ~50 records a batch: many batches per partition
    topic = settings.topics.notifications
    create_topics(kafka_python(settings), settings.topics)
    # Keys like subscriber ids, with a varying length and a non-ASCII value, as a careless caller would send.
    records = [(f"p:{i:024x}{'x' * (i % 4)}".encode(), f'{{"n":{i},"t":"Bão số {i}"}}'.encode()) for i in range(3_000)]
    producer = bulk_producer(settings, client_id="bulk-test")
    await producer.start()
    try:
        count = await send_partitioned(producer, topic.name, iter(records))
    finally:
        await producer.stop()
    assert count == len(records)
    written = read_all(settings, topic.name, topic.partitions)
    assert written == {key: (partition_of(key, topic.partitions), value) for key, value in records}


async def test_an_error_while_computing_records_is_reported_as_a_read_failure(settings):
    topic = settings.topics.notifications
    create_topics(kafka_python(settings), settings.topics)

    def records():
        yield b"k1", b"{}"
        raise KeyError("ma_tinh")

    producer = bulk_producer(settings, client_id="bulk-test")
    await producer.start()
    try:
        with pytest.raises(ReadFailed, match="KeyError"):
            await send_partitioned(producer, topic.name, ReadFailed.around(records()))
    finally:
        await producer.stop()
