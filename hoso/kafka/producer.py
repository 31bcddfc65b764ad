"""An idempotent producer that replaces itself when the broker stops accepting its sequence numbers.

An idempotent producer numbers the batches it sends to each partition. After a broker restart (chaos: a long
outage, then the broker back on the same data) the broker can answer ``OutOfOrderSequenceNumber`` or
``UnknownProducerId`` for one of those partitions, and aiokafka, unlike the Java client, does not reset the
numbering: every later send to that partition fails the same way, for ever. A dispatcher whose sent-log writes
retry in place then never finishes its records: found by ``hoso chaos`` as notifications that stopped
arriving. A new producer (a new producer id, numbering from zero) is the remedy; the records the old one had
not delivered were not acknowledged, so their callers retry them as they do any failed send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    OutOfOrderSequenceNumber,
    ProducerFenced,
    UnknownProducerId,
)

log = logging.getLogger("hoso.kafka")

PRODUCER_STATE_ERRORS: tuple[type[Exception], ...] = (
    OutOfOrderSequenceNumber,
    UnknownProducerId,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    ProducerFenced,
)
"""Errors after which this producer's sends to the partition can never succeed again."""

STOP_TIMEOUT_S = 10.0


class RenewingProducer:
    """``send`` / ``send_and_wait`` of an AIOKafkaProducer, on a producer renewed after a state error.

    ``factory`` builds the producer (the same options every time). A send that fails with one of
    ``PRODUCER_STATE_ERRORS`` still raises, so the caller's retry policy applies; its retry goes through the new
    producer. Concurrent failures renew once.
    """

    def __init__(self, factory: Callable[[], AIOKafkaProducer], *, name: str = "producer") -> None:
        self._factory = factory
        self._name = name
        self._current: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.renewals = 0

    @classmethod
    def idempotent(cls, config: dict[str, Any], *, name: str, **options: Any) -> RenewingProducer:
        """An ``acks=all`` idempotent producer from aiokafka keyword arguments (``hoso.kafka.clients``)."""
        settings = {**config, "acks": "all", "enable_idempotence": True, **options}
        return cls(lambda: AIOKafkaProducer(**settings), name=name)

    async def start(self) -> None:
        """Start the first producer."""
        producer = self._factory()
        await producer.start()
        self._current = producer

    async def stop(self) -> None:
        """Flush and stop the current producer."""
        for task in list(self._tasks):
            with contextlib.suppress(Exception):
                await task
        if self._current is not None:
            await self._current.stop()
            self._current = None

    async def send(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> asyncio.Future[Any]:
        """Hand a record to the producer; the returned future resolves when the broker acknowledged it."""
        producer = self._producer()
        try:
            fut = await producer.send(topic, value=value, key=key, partition=partition, headers=headers)
        except PRODUCER_STATE_ERRORS:
            await self.renew(producer)
            raise
        fut.add_done_callback(lambda f: self._after(f, producer))
        return fut

    async def send_and_wait(
        self,
        topic: str,
        value: bytes | None = None,
        key: bytes | None = None,
        partition: int | None = None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        """Send a record and wait for the broker's acknowledgement (raises if it did not come)."""
        producer = self._producer()
        try:
            return await producer.send_and_wait(topic, value=value, key=key, partition=partition, headers=headers)
        except PRODUCER_STATE_ERRORS:
            await self.renew(producer)
            raise

    async def renew(self, broken: AIOKafkaProducer) -> None:
        """Replace ``broken`` with a new producer, unless another failure already did."""
        async with self._lock:
            if self._current is not broken:
                return
            fresh = self._factory()
            await fresh.start()
            self._current = fresh
            self.renewals += 1
        log.warning("%s: the broker no longer accepts this producer's sequence numbers; replaced it", self._name)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(broken.stop(), STOP_TIMEOUT_S)

    async def partitions_for(self, topic: str) -> set[int]:
        """The topic's partitions, as the producer's metadata knows them."""
        return set(await self._producer().partitions_for(topic))

    def _producer(self) -> AIOKafkaProducer:
        if self._current is None:
            raise RuntimeError(f"{self._name} is not started")
        return self._current

    def _after(self, fut: asyncio.Future[Any], producer: AIOKafkaProducer) -> None:
        if fut.cancelled() or not isinstance(fut.exception(), PRODUCER_STATE_ERRORS):
            return
        task = asyncio.ensure_future(self.renew(producer))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
