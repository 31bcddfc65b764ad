"""The sent-log: tracking ids Zalo already accepted, so a record re-read after a crash is not sent again.

Kafka-backed and partitioned like the notifications (same key, same partition number), so the dispatcher
that is assigned notification partition *p* reads sent-log partition *p* — only the recent part, because
a record can only be re-read if it was sent after the last committed offset, i.e. recently.

An accepted send is noted in memory *first* (``note``), then written (``write``). If the write fails
(leader moving, a broker outage longer than the request timeout) only the write is retried, never the Zalo
call: the in-memory note already stops this process from sending it again. A send accepted by Zalo whose
sent-log write did not land before a crash can still be repeated by the next owner: that window is one
request (plus the write's retries) wide and is counted by the simulator as a duplicate.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from hoso.kafka.producer import RenewingProducer

PRUNE_EVERY_S = 600.0


class SentLog:
    """Tracking ids accepted by Zalo, per assigned partition."""

    def __init__(self, client_config: dict[str, Any], topic: str, lookback_s: float) -> None:
        self._config = client_config
        self.topic = topic
        self._lookback_s = lookback_s
        self._ids: dict[int, dict[str, float]] = {}  # partition -> tracking id -> when Zalo accepted it
        self._unwritten: dict[int, dict[str, float]] = {}  # noted, durable write not acknowledged yet
        self._pruned_at = time.time()

    async def load(self, partitions: list[int]) -> int:
        """Read the recent sent-log of ``partitions``; returns how many ids were loaded."""
        if not partitions:
            return 0
        consumer = AIOKafkaConsumer(**self._config, enable_auto_commit=False, group_id=None)
        await consumer.start()
        loaded = 0
        try:
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            since = int((time.time() - self._lookback_s) * 1000)
            starts = await consumer.offsets_for_times(dict.fromkeys(tps, since))
            ends = await consumer.end_offsets(tps)
            for tp in tps:
                self._ids.setdefault(tp.partition, {})
                start = starts.get(tp)
                if start is None:
                    consumer.seek(tp, ends[tp])
                else:
                    consumer.seek(tp, start.offset)
            pending = {tp for tp in tps if await consumer.position(tp) < ends[tp]}
            while pending:
                batch = await consumer.getmany(*pending, timeout_ms=1000)
                for tp, records in batch.items():
                    for r in records:
                        tracking_id = _tracking_id(r.value)
                        if tracking_id is not None:  # a damaged record must not stop the others loading
                            self._ids[tp.partition][tracking_id] = r.timestamp / 1000
                            loaded += 1
                pending = {tp for tp in pending if await consumer.position(tp) < ends[tp]}
        finally:
            await consumer.stop()
        return loaded

    def forget(self, partitions: list[int]) -> None:
        """Drop partitions this process no longer owns, except sends whose write is still being retried:
        the Kafka copy does not exist yet, so if the partition comes back this memory is all there is."""
        for p in partitions:
            self._ids.pop(p, None)
            if self._unwritten.get(p):
                self._ids[p] = dict(self._unwritten[p])

    def seen(self, partition: int, tracking_id: str) -> bool:
        """Whether Zalo already accepted this tracking id (as far as the log knows)."""
        return tracking_id in self._ids.get(partition, ())

    def note(self, partition: int, tracking_id: str) -> None:
        """Remember at once that Zalo accepted ``tracking_id`` (before the durable write is acknowledged)."""
        now = time.time()
        self._ids.setdefault(partition, {})[tracking_id] = now
        self._unwritten.setdefault(partition, {})[tracking_id] = now
        if now - self._pruned_at > PRUNE_EVERY_S:
            self.prune(now)

    async def write(
        self, producer: RenewingProducer, partition: int, key: bytes | None, tracking_id: str, msg_id: str, oa_id: str
    ) -> None:
        """Durably record an accepted send (returns after the broker acknowledged it; raises if it did not)."""
        value = orjson.dumps({"tracking_id": tracking_id, "msg_id": msg_id, "oa_id": oa_id, "sent_at": time.time()})
        await producer.send_and_wait(self.topic, key=key, value=value, partition=partition)
        self._unwritten.get(partition, {}).pop(tracking_id, None)

    async def record(
        self, producer: RenewingProducer, partition: int, key: bytes | None, tracking_id: str, msg_id: str, oa_id: str
    ) -> None:
        """``note`` then ``write``: the in-memory note holds even if the write raises."""
        self.note(partition, tracking_id)
        await self.write(producer, partition, key, tracking_id, msg_id, oa_id)

    def prune(self, now: float) -> None:
        """Forget sends older than the lookback (a re-read can only concern recent ones); bounds memory."""
        horizon = now - self._lookback_s
        for ids in self._ids.values():
            for old in [t for t, at in ids.items() if at < horizon]:
                del ids[old]
        self._pruned_at = now


def _tracking_id(raw: bytes | None) -> str | None:
    try:
        value = orjson.loads(raw or b"null")
    except orjson.JSONDecodeError:
        return None
    tracking_id = value.get("tracking_id") if isinstance(value, dict) else None
    return tracking_id if isinstance(tracking_id, str) else None
