"""Publishes an area alert to every partition of ``broadcasts.v1``, so every streams worker fans it out.

One copy per partition is what makes the fan-out parallel: partition *p* is read by the worker that owns
partition *p* of the followers table, and selects recipients there only. A copy missing from one partition
would silently skip a slice of the area, so the publish waits for every acknowledgement and raises
``PublishError`` otherwise; re-publishing the same ``broadcast_id`` is harmless (tracking ids repeat).
``publish_broadcast`` is the synchronous path (``hoso broadcast``, kafka-python); ``publish_broadcast_async``
does the same on an async server's aiokafka producer (the gateway).
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from aiokafka.errors import KafkaError as AIOKafkaError
from kafka import KafkaProducer
from kafka.errors import KafkaError

from hoso import metrics
from hoso.errors import InvalidRecord, PublishError
from hoso.kafka.producer import RenewingProducer
from hoso.kafka.sync_client import open_client
from schemas.broadcast import Broadcast
from schemas.codec import dumps, validate
from schemas.topics import Topics, TopicSpec

PUBLISH_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class BroadcastReceipt:
    """Where the request was written: one offset per partition."""

    broadcast_id: str
    topic: str
    offsets: dict[int, int]


def publish_broadcast(
    client_config: Mapping[str, Any], topics: Topics, broadcast: Broadcast | dict[str, Any], timeout: float = 30.0
) -> BroadcastReceipt:
    """Validate ``broadcast`` and write it to every partition of the broadcasts topic, durably."""
    broadcast = _validated(broadcast)
    spec = topics.broadcasts
    key, value = broadcast.broadcast_id.encode(), dumps(broadcast)
    try:
        producer = open_client(
            KafkaProducer, **client_config, acks="all", enable_idempotence=True, client_id="hoso-broadcast"
        )
    except KafkaError as exc:
        raise PublishError(f"cannot connect to Kafka: {exc}") from exc
    try:
        _check_partitions(spec, producer.partitions_for(spec.name))
        futures = {p: producer.send(spec.name, key=key, value=value, partition=p) for p in range(spec.partitions)}
        producer.flush(timeout=timeout)
        offsets = {}
        for p, fut in futures.items():
            if not fut.is_done or fut.failed():
                raise PublishError(f"broadcast {broadcast.broadcast_id}: partition {p} not acknowledged")
            offsets[p] = fut.value.offset
    except KafkaError as exc:
        raise PublishError(f"broadcast {broadcast.broadcast_id} not written: {exc}") from exc
    finally:
        producer.close(timeout=5)
    metrics.BROADCASTS.labels(broadcast.area_level.value.lower()).inc()
    return BroadcastReceipt(broadcast_id=broadcast.broadcast_id, topic=spec.name, offsets=offsets)


async def publish_broadcast_async(
    producer: RenewingProducer,
    topics: Topics,
    broadcast: Broadcast | dict[str, Any],
    timeout_s: float = PUBLISH_TIMEOUT_S,
) -> BroadcastReceipt:
    """``publish_broadcast`` on a started aiokafka producer: every partition written and acknowledged, or raise."""
    broadcast = _validated(broadcast)
    spec = topics.broadcasts
    key, value = broadcast.broadcast_id.encode(), dumps(broadcast)
    try:
        async with asyncio.timeout(timeout_s):
            _check_partitions(spec, await producer.partitions_for(spec.name))
            sent = {
                p: await producer.send(spec.name, key=key, value=value, partition=p) for p in range(spec.partitions)
            }
            written = dict(zip(sent, await asyncio.gather(*sent.values(), return_exceptions=True), strict=True))
    except (AIOKafkaError, TimeoutError) as exc:
        raise PublishError(f"broadcast {broadcast.broadcast_id} not written: {type(exc).__name__} {exc}") from exc
    offsets = {}
    for p, meta in written.items():
        if isinstance(meta, BaseException):
            raise PublishError(f"broadcast {broadcast.broadcast_id}: partition {p} not acknowledged ({meta!r})")
        offsets[p] = meta.offset
    metrics.BROADCASTS.labels(broadcast.area_level.value.lower()).inc()
    return BroadcastReceipt(broadcast_id=broadcast.broadcast_id, topic=spec.name, offsets=offsets)


def _validated(broadcast: Broadcast | dict[str, Any]) -> Broadcast:
    if isinstance(broadcast, Broadcast):
        return broadcast
    model, problems = validate(Broadcast, broadcast)
    if model is None:
        raise InvalidRecord(problems)
    return model


def _check_partitions(spec: TopicSpec, actual: Collection[int] | None) -> None:
    """A copy on a missing partition would silently skip a slice of the area: refuse before writing any."""
    if not actual or len(actual) != spec.partitions:
        found = "missing" if not actual else f"{len(actual)} partitions"
        raise PublishError(
            f"{spec.name} is {found}; it needs {spec.partitions} (the dossier partition count): "
            "run `hoso topics create`"
        )
