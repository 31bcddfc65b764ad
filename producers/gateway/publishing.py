"""Getting accepted items durably into Kafka before the gateway answers, without blocking the event loop.

The gateway reuses the project's one ``Publisher`` (kafka-python, idempotent, ``acks=all``, the same settings
as ``hoso publish``) instead of keeping a second, aiokafka-based producer configuration in step with it.
kafka-python blocks while it waits for acknowledgements, so every publish runs in a small dedicated thread
pool; the producer itself is thread-safe, and concurrent requests share its batches.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from hoso import metrics
from producers.publisher import Publisher
from schemas.dossier_event import DossierEvent

PUBLISH_THREADS = 8
PUBLISH_TIMEOUT_S = 30.0


class EventSink(Protocol):
    """Where accepted dossier events go; ``publish`` returns only once all are acknowledged, else raises."""

    async def publish(self, events: Sequence[DossierEvent]) -> None:
        """Write every event durably or raise PublishError."""
        ...

    def close(self) -> None:
        """Flush and release resources."""
        ...


class KafkaEventSink:
    """The dossier events topic, through ``Publisher`` in a thread pool."""

    def __init__(self, publisher: Publisher, threads: int = PUBLISH_THREADS) -> None:
        """Takes ownership of ``publisher`` (closed by ``close``)."""
        self._publisher = publisher
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gateway-publish")

    @property
    def publisher(self) -> Publisher:
        """The underlying publisher (other topics' publishers may share its connection settings)."""
        return self._publisher

    async def publish(self, events: Sequence[DossierEvent]) -> None:
        """Send all and wait for every acknowledgement (PublishError if any record was not written)."""
        if not events:
            return
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._publish_blocking, list(events))
        metrics.GATEWAY_PUBLISH_SECONDS.observe(time.perf_counter() - started)

    def _publish_blocking(self, events: list[DossierEvent]) -> None:
        self._publisher.publish_many(events, timeout=PUBLISH_TIMEOUT_S)

    def close(self) -> None:
        """Wait for in-flight publishes, then flush and close the producer."""
        self._pool.shutdown(wait=True)
        self._publisher.close()
