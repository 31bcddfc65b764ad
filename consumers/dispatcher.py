"""The dispatcher: consumes notifications, sends them to Zalo concurrently, commits only what is finished.

At-least-once: a batch's offsets are committed after every record in it has reached an end (sent,
permanently refused and recorded, or dead-lettered and recorded). One recipient's messages share a key
and so a partition; within a batch they are sent one after another, in offset order, while different
recipients proceed in parallel up to the concurrency limit.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from consumers.delivery import Deliverer, Delivery, Outcome, RetryPolicy
from consumers.zalo.client import ZaloClient
from hoso import kafka_clients, metrics
from hoso.settings import Settings
from schemas.codec import decode
from schemas.common import iso_vn, now_vn
from schemas.notification import Notification
from schemas.topics import catalogue

log = logging.getLogger("hoso.dispatcher")


@dataclass
class DispatchStats:
    """Running totals, for logs and tests."""

    sent: int = 0
    permanent_failures: int = 0
    dead_lettered: int = 0
    invalid: int = 0
    batches: int = 0
    by_code: dict[str, int] = field(default_factory=dict)


class Dispatcher:
    """One dispatcher process: a consumer-group member on the notifications topic."""

    def __init__(self, settings: Settings, *, client: ZaloClient | None = None) -> None:
        self.settings = settings
        self.topics = catalogue(settings.topic_prefix, settings.partitions, settings.app_id)
        self.client = client or ZaloClient(
            zbs_url=settings.zalo_zbs_url,
            oa_url=settings.zalo_oa_url,
            timeout=settings.zalo_timeout_s,
            max_connections=settings.dispatch_concurrency,
        )
        self.deliverer = Deliverer(
            self.client, settings.zalo_access_token, RetryPolicy(max_attempts=settings.dispatch_max_attempts)
        )
        self.stats = DispatchStats()
        self._limit = asyncio.Semaphore(settings.dispatch_concurrency)
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None

    def stop(self) -> None:
        """Finish the batch in hand, commit it, then leave (SIGTERM)."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped."""
        client = kafka_clients.aiokafka(self.settings)
        self._consumer = AIOKafkaConsumer(
            self.topics.notifications.name,
            **client,
            group_id=self.settings.dispatcher_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self.settings.dispatch_batch,
            client_id="hoso-dispatcher",
        )
        self._producer = AIOKafkaProducer(
            **client,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            client_id="hoso-dispatcher",
        )
        await self._producer.start()
        await self._consumer.start()
        log.info("dispatcher consuming %s as %s", self.topics.notifications.name, self.settings.dispatcher_group)
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=200, max_records=self.settings.dispatch_batch)
                if batches:
                    await self.process(batches)
                    await self._consumer.commit({tp: recs[-1].offset + 1 for tp, recs in batches.items()})
                    self.stats.batches += 1
        finally:
            await self._consumer.stop()
            await self._producer.stop()
            await self.client.aclose()
            log.info("dispatcher stopped: %s", self.stats)

    async def process(self, batches: dict[TopicPartition, list[ConsumerRecord]]) -> None:
        """Deliver every record of a poll; returns when all have reached an end."""
        chains: dict[bytes | None, list[ConsumerRecord]] = defaultdict(list)
        for records in batches.values():
            for record in records:
                chains[record.key].append(record)
        await asyncio.gather(*(self._run_chain(chain) for chain in chains.values()))

    async def _run_chain(self, records: Sequence[ConsumerRecord]) -> None:
        for record in records:
            notification, problems = decode(Notification, record.value or b"")
            if notification is None:
                self.stats.invalid += 1
                await self._record_failure(record.key, {"invalid": [p.to_dict() for p in problems]}, "invalid")
                continue
            async with self._limit:
                metrics.IN_FLIGHT.inc()
                try:
                    delivery = await self.deliverer.deliver(notification)
                finally:
                    metrics.IN_FLIGHT.dec()
            await self._finish(record, notification, delivery)

    async def _finish(self, record: ConsumerRecord, n: Notification, d: Delivery) -> None:
        metrics.DELIVERIES.labels(n.oa_id, d.outcome.value).inc()
        if d.outcome is Outcome.SENT:
            self.stats.sent += 1
            return
        if d.outcome is Outcome.PERMANENT_FAILURE:
            self.stats.permanent_failures += 1
        else:
            self.stats.dead_lettered += 1
        code = str(d.code)
        self.stats.by_code[code] = self.stats.by_code.get(code, 0) + 1
        payload = {
            "notification": n.model_dump(mode="json", exclude_none=True),
            "code": d.code,
            "reason": d.reason,
            "attempts": d.attempts,
        }
        await self._record_failure(record.key, payload, d.outcome.value)

    async def _record_failure(self, key: bytes | None, payload: dict[str, object], outcome: str) -> None:
        assert self._producer is not None
        value = orjson.dumps({**payload, "outcome": outcome, "failed_at": iso_vn(now_vn())})
        await (await self._producer.send(self.topics.delivery_failures.name, key=key, value=value))


def run_dispatcher(settings: Settings) -> None:
    """Run one dispatcher until SIGTERM/SIGINT."""
    metrics.serve(settings.metrics_port)

    async def main() -> None:
        dispatcher = Dispatcher(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, dispatcher.stop)
        await dispatcher.run()

    asyncio.run(main())
