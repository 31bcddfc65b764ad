"""Consumer lag: committed offsets against log ends, read from a real broker and exported as a gauge."""

from __future__ import annotations

import threading
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import REGISTRY

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hoso.kafka.lag import LagExporter, LagReader, lag_rows, start_lag_exporter
from hosoctl.processes import free_port

TP = TopicPartition("t", 0)


def gauge(group: str, topic: str, partition: int) -> float | None:
    return REGISTRY.get_sample_value(
        "hoso_consumer_lag_records", {"group": group, "topic": topic, "partition": str(partition)}
    )


def test_lag_is_log_end_minus_committed_offset():
    [row] = lag_rows("g", {TP: 7}, {TP: 0}, {TP: 10})
    assert (row.topic, row.partition, row.lag) == ("t", 0, 3)


def test_a_partition_never_committed_counts_from_log_start():
    [row] = lag_rows("g", {}, {TP: 4}, {TP: 10})
    assert row.committed is None and row.lag == 6


def test_a_commit_older_than_the_retained_log_counts_only_what_is_still_there():
    [row] = lag_rows("g", {TP: 2}, {TP: 5}, {TP: 9})
    assert row.lag == 4


def test_a_commit_at_the_log_end_is_no_lag():
    [row] = lag_rows("g", {TP: 10}, {TP: 0}, {TP: 10})
    assert row.lag == 0


def test_exporter_interval_must_be_positive():
    with pytest.raises(ValueError, match="interval_s"):
        LagExporter(LagReader({"bootstrap_servers": ["127.0.0.1:1"]}), "g", [], 0)


@pytest.mark.broker
def test_exporter_reports_per_partition_lag_of_listed_and_committed_topics(settings):
    topics = settings.topics
    client = kafka_python(settings)
    create_topics(client, topics)
    events, notifications = topics.dossier_events.name, topics.notifications.name
    producer = KafkaProducer(**client)
    for i in range(12):
        producer.send(events, key=f"dossier-{i}".encode(), value=b"{}", partition=i % 2)
    for _ in range(5):
        producer.send(notifications, key=b"s", value=b"{}", partition=1)
    producer.flush()
    producer.close()
    group = f"{settings.app_id}-lag"
    consumer = KafkaConsumer(**client, group_id=group, enable_auto_commit=False)
    consumer.commit({TopicPartition(events, 0): OffsetAndMetadata(2, "", -1)})
    consumer.commit({TopicPartition(notifications, 1): OffsetAndMetadata(5, "", -1)})
    consumer.close()

    reader = LagReader(client)
    try:
        rows = {(r.topic, r.partition): r.lag for r in LagExporter(reader, group, [events], 60).collect_once()}
    finally:
        reader.close()

    assert rows[(events, 0)] == 4, "6 records on partition 0, committed at 2"
    assert rows[(events, 1)] == 6, "never committed: the whole partition is ahead of the group"
    assert rows[(events, 2)] == 0 and rows[(events, 3)] == 0
    assert rows[(notifications, 1)] == 0, "a committed topic is reported even when not listed"
    assert len([k for k in rows if k[0] == notifications]) == settings.partitions
    assert gauge(group, events, 0) == 4
    assert gauge(group, events, 1) == 6
    assert gauge(group, notifications, 1) == 0


@pytest.mark.broker
def test_background_exporter_follows_new_commits(settings):
    topics = settings.topics
    client = kafka_python(settings)
    create_topics(client, topics)
    topic = topics.subscription_changes.name
    producer = KafkaProducer(**client)
    for _ in range(3):
        producer.send(topic, key=b"k", value=b"{}", partition=0)
    producer.flush()
    producer.close()
    group = f"{settings.app_id}-follow"
    exporter = start_lag_exporter(settings, group, [topic], interval_s=0.2)
    try:
        deadline = time.monotonic() + 20
        while gauge(group, topic, 0) != 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gauge(group, topic, 0) == 3
        consumer = KafkaConsumer(**client, group_id=group, enable_auto_commit=False)
        consumer.commit({TopicPartition(topic, 0): OffsetAndMetadata(3, "", -1)})
        consumer.close()
        while gauge(group, topic, 0) != 0 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gauge(group, topic, 0) == 0
    finally:
        exporter.stop()
    assert not exporter._thread.is_alive()


def test_an_unreachable_broker_yields_no_rows_and_does_not_stop_the_exporter():
    reader = LagReader({"bootstrap_servers": [f"127.0.0.1:{free_port()}"], "bootstrap_timeout_ms": 500})
    exporter = LagExporter(reader, "g-unreachable", ["t"], interval_s=60)
    assert exporter.collect_once() == []
    assert exporter.collect_once() == [], "a second attempt after the failure is made and fails the same way"


def test_an_outage_of_many_attempts_leaves_no_client_behind():
    """Each failed attempt's admin client is closed: kafka-python alone leaves its network thread reconnecting,
    one per attempt, so a long outage would end with hundreds of clients meeting the returning broker."""
    before = set(threading.enumerate())
    reader = LagReader({"bootstrap_servers": [f"127.0.0.1:{free_port()}"], "bootstrap_timeout_ms": 100})
    exporter = LagExporter(reader, "g-long-outage", ["t"], interval_s=0.01).start()
    try:
        time.sleep(2)  # twenty attempts or so, each failing its bootstrap
    finally:
        exporter.stop()
    left = [t.name for t in set(threading.enumerate()) - before if t.name.startswith("kafka-io-")]
    assert left == []
