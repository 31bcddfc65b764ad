"""Producing a fan-out's records as large compressed batches built per partition, while they are computed.

aiokafka's ``send`` costs, per record, a coroutine, a future, a partitioner call and an accumulator lookup:
more than building an area alert. A fan-out knows it has many records for one topic, so it fills one
``BatchBuilder`` per partition itself (each key placed where Kafka's default partitioner places it, so a
person's alert shares the partition of their other messages), hands each full builder to the producer with
``send_batch`` and goes on building the next while the sender ships it (zstd-compressed: alerts differ only
in a few fields). The builders hold ``max_batch_size`` bytes of records each; a builder is handed over as
soon as it is full, so at most one builder per partition is being filled at a time.

The caller is told the count only once every batch is acknowledged: a broadcast record's offset must not be
committed before its whole fan-out is on the topic.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from typing import Any

from aiokafka import AIOKafkaProducer

from hoso.kafka import clients
from hoso.settings import Settings
from streams.fanout import partition_of

BATCH_BYTES = 512 * 1024
"""Uncompressed bytes per batch (about 800 alerts). Compressed, a batch stays far below the broker's 1 MiB
``message.max.bytes`` whatever the ratio, since the builder counts uncompressed bytes."""


COMPRESSION = "zstd"
"""Codec of the fan-out batches. aiokafka compresses lz4 at level 9 (HC): 270 MB/s on this machine against
1,000 MB/s for zstd at the broker's default level, whose batches are also half the size; in the full bench
lz4 took 18% of the worker's samples during a million-alert fan-out (docs/performance.md)."""


def bulk_producer(settings: Settings, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent ``acks=all`` producer with zstd and batch-sized builders (not started)."""
    config = clients.async_producer(settings, client_id=client_id)
    return AIOKafkaProducer(**{**config, "max_batch_size": BATCH_BYTES, "compression_type": COMPRESSION})


async def send_partitioned(producer: Any, topic: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """Produce ``(key, value)`` records in per-partition batches; returns the count once all are acknowledged.

    ``records`` is consumed lazily: reading followers and building their records overlaps with the sender
    shipping the batches already full. Raises whatever Kafka reports for any batch (nothing is retried here:
    the caller's record is then not acknowledged, and its redelivery repeats the same tracking ids).
    """
    partitions = len(await producer.partitions_for(topic))
    builders: dict[int, Any] = {}
    acks: list[asyncio.Future[Any]] = []
    count = 0
    for key, value in records:
        partition = partition_of(key, partitions)
        builder = builders.get(partition)
        if builder is None:
            builder = builders[partition] = producer.create_batch()
        if builder.append(timestamp=None, key=key, value=value) is None:  # full: ship it, start the next
            acks.append(await producer.send_batch(builder, topic, partition=partition))
            await asyncio.sleep(0)  # the sender task takes the batch while the next one fills
            builder = builders[partition] = producer.create_batch()
            if builder.append(timestamp=None, key=key, value=value) is None:
                raise ValueError(f"a record of {len(value)} bytes does not fit in a {BATCH_BYTES}-byte batch")
        count += 1
    for partition, builder in builders.items():
        if builder.record_count():
            builder.close()  # a closed builder is sent without waiting for the linger
            acks.append(await producer.send_batch(builder, topic, partition=partition))
    await asyncio.gather(*acks)
    return count


class ReadFailed(Exception):
    """Building the records failed (a table row that cannot be read), as opposed to Kafka refusing them."""

    @staticmethod
    def around(records: Iterable[tuple[bytes, bytes]]) -> Iterator[tuple[bytes, bytes]]:
        """``records``, with any error they raise while being computed wrapped as ``ReadFailed``."""
        try:
            yield from records
        except Exception as exc:
            raise ReadFailed(f"{type(exc).__name__}: {exc}") from exc
