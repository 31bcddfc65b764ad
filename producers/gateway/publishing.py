"""Getting accepted items durably into Kafka before the gateway answers, on the event loop.

The gateway is an async server, so it writes with aiokafka: one producer per gateway process, configured by
``hoso.kafka.clients.async_producer`` (idempotent, ``acks=all``, the same configuration as the webhook
receiver), shared by the dossier-event and area-alert sinks. ``publish`` returns only when Kafka has
acknowledged every record; otherwise it raises ``PublishError`` and the gateway answers 503.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Protocol

from aiokafka.errors import KafkaError

from hoso import metrics
from hoso.errors import PublishError
from hoso.kafka.producer import RenewingProducer
from schemas.codec import dumps
from schemas.dossier_event import DossierEvent

PUBLISH_TIMEOUT_S = 30.0


class EventSink(Protocol):
    """Where accepted dossier events go; ``publish`` returns only once all are acknowledged, else raises."""

    async def publish(self, events: Sequence[DossierEvent]) -> None:
        """Write every event durably or raise PublishError."""
        ...


class KafkaEventSink:
    """The dossier events topic, through the gateway's aiokafka producer (owned by the gateway, not the sink)."""

    def __init__(self, producer: RenewingProducer, topic: str, timeout_s: float = PUBLISH_TIMEOUT_S) -> None:
        """A started ``producer`` and the dossier events topic of this deployment."""
        self._producer = producer
        self._topic = topic
        self._timeout_s = timeout_s

    async def publish(self, events: Sequence[DossierEvent]) -> None:
        """Send all, then wait for every acknowledgement (PublishError if any record was not written)."""
        if not events:
            return
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._timeout_s):
                sent = [await self._producer.send(self._topic, key=e.key.encode(), value=dumps(e)) for e in events]
                results = await asyncio.gather(*sent, return_exceptions=True)
        except (KafkaError, TimeoutError) as exc:
            raise PublishError(f"{len(events)} events not acknowledged: {type(exc).__name__} {exc}") from exc
        failed = [(e.key, r) for e, r in zip(events, results, strict=True) if isinstance(r, BaseException)]
        if failed:
            shown = ", ".join(f"{key}: {type(exc).__name__}" for key, exc in failed[:5])
            raise PublishError(f"{len(failed)} of {len(events)} events not acknowledged ({shown})")
        metrics.GATEWAY_PUBLISH_SECONDS.observe(time.perf_counter() - started)
