"""Reading a topic from its beginning to the end it has when the read starts, without a consumer group.

Commands that answer from Kafka without a worker up read this way: ``hoso broadcast --dry-run`` and
``hoso ratings export`` read compacted topics (table changelogs, the ratings) into what a restoring worker
would hold; ``hoso dlq`` and ``hoso reconcile`` list every record of a topic. Records produced after the
read starts are not waited for, so the read always ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar, overload

from kafka import KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from hoso.kafka.sync_client import open_client

V = TypeVar("V")


def records_to_end(client_config: dict[str, Any], topic: str, poll_ms: int = 1000) -> Iterator[ConsumerRecord]:
    """Every record of ``topic`` (kafka-python ``client_config``) up to its current end, partition by partition
    in offset order."""
    consumer = open_client(KafkaConsumer, **client_config, enable_auto_commit=False, group_id=None)
    try:
        tps = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or set())]
        if not tps:
            return
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        pending = {tp for tp in tps if consumer.position(tp) < ends[tp]}
        while pending:
            for records in consumer.poll(timeout_ms=poll_ms).values():
                yield from records
            pending = {tp for tp in pending if consumer.position(tp) < ends[tp]}
    finally:
        consumer.close()


@overload
def read_compacted(client_config: dict[str, Any], topic: str) -> dict[bytes, bytes]: ...


@overload
def read_compacted(client_config: dict[str, Any], topic: str, parse: Callable[[bytes], V | None]) -> dict[bytes, V]: ...


def read_compacted(
    client_config: dict[str, Any], topic: str, parse: Callable[[bytes], Any] | None = None
) -> dict[bytes, Any]:
    """The latest value of every key on a compacted ``topic``, tombstones applied (as compaction will leave it).

    With ``parse``, each value is parsed as it is read; a value it returns None for is skipped, so the key
    keeps its previous value (a damaged record does not hide the last good one). Records without a key
    (which a compacted topic does not accept) are ignored.
    """
    out: dict[bytes, Any] = {}
    for r in records_to_end(client_config, topic):
        if r.key is None:
            continue
        if r.value is None:
            out.pop(r.key, None)
            continue
        value = r.value if parse is None else parse(r.value)
        if value is not None:
            out[r.key] = value
    return out
