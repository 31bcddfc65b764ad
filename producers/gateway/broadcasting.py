"""Publishing an accepted area alert from the gateway: a copy on every partition of ``broadcasts.v1``.

``producers.broadcast.publish_broadcast_async`` is the event-loop twin of ``hoso broadcast``'s path (same
validation, same partition check, every acknowledgement awaited); here it runs on the gateway's one producer.
"""

from __future__ import annotations

from typing import Any

from hoso.kafka.producer import RenewingProducer
from producers.broadcast import publish_broadcast_async
from schemas.topics import Topics


class KafkaBroadcastSink:
    """A BroadcastSink: one validated Broadcast to every partition of the broadcasts topic, acknowledged."""

    def __init__(self, producer: RenewingProducer, topics: Topics) -> None:
        """The gateway's started producer and the topic catalogue of this deployment."""
        self._producer = producer
        self._topics = topics

    async def __call__(self, broadcast: Any) -> None:
        """Publish durably or raise PublishError."""
        await publish_broadcast_async(self._producer, self._topics, broadcast)
