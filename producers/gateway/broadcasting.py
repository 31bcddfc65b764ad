"""Publishing an accepted area alert from the gateway, through the streams side's ``publish_broadcast``.

``producers.broadcast.publish_broadcast`` writes the alert to every partition of ``broadcasts.v1`` and waits
for every acknowledgement (the same path as ``hoso broadcast``); it blocks, so it runs in a one-thread pool.
Alerts are rare, so the producer it opens per call costs nothing worth pooling.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hoso.kafka.clients import kafka_python
from hoso.settings import Settings
from producers.broadcast import publish_broadcast
from schemas.topics import Topics


class KafkaBroadcastSink:
    """A BroadcastSink: one validated Broadcast to every partition of the broadcasts topic, acknowledged."""

    def __init__(self, settings: Settings, topics: Topics) -> None:
        """Connection settings and the topic catalogue of this deployment."""
        self._client = kafka_python(settings)
        self._topics = topics
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-broadcast")

    async def __call__(self, broadcast: Any) -> None:
        """Publish durably or raise PublishError."""
        await asyncio.get_running_loop().run_in_executor(
            self._pool, publish_broadcast, self._client, self._topics, broadcast
        )

    def close(self) -> None:
        """Wait for an in-flight publish."""
        self._pool.shutdown(wait=True)
