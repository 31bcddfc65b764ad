"""The replay window: every webhook call accepted in the last ``HOSO_WEBHOOK_MAX_AGE_S``, read back from Kafka.

A signed call stays valid forever (the signature covers the body, not the moment), so a captured ``DK`` or
``HUY`` could be replayed. Calls older than the window are refused by their signed timestamp
(``is_fresh``); calls inside it are recognised by their identity. That memory must survive restarts and be
shared by every receiver replica, so it is not kept in the process: ``zalo-events.v1`` already holds every
accepted call, and each receiver tails it from ``window`` ago before it answers its first call, and keeps
tailing while it runs (a call accepted by a sibling replica is seen here a moment later).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition

from hoso import metrics
from producers.webhook.recent import RecentIds

log = logging.getLogger("hoso.webhook")

CATCH_UP_TIMEOUT_S = 60.0


def is_fresh(timestamp: object, now_s: float, max_age_s: float) -> bool:
    """Whether a call's signed ``timestamp`` (epoch milliseconds, a string in Zalo's payloads) is within
    ``max_age_s`` of ``now_s``, either way (a clock ahead by more than the window is as suspicious)."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, str | int):
        return False
    text = str(timestamp).strip()
    if not text.isdigit() or len(text) > 16:
        return False
    return abs(now_s - int(text) / 1000) <= max_age_s


class ReplayWindow:
    """The identities of calls accepted recently, by this receiver or any other, recovered from Kafka."""

    def __init__(
        self,
        consumer_config: dict[str, Any],
        topic: str,
        partitions: int,
        window_s: float,
        recent: RecentIds,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``consumer_config``: aiokafka connection keywords; ``partitions``: the topic's declared count;
        ``recent``: the set to fill (shared with the
        receiver, which also adds what it accepts itself at once)."""
        self._config = consumer_config
        self._topic = topic
        self._partitions = partitions
        self._window_s = window_s
        self._clock = clock
        self.recent = recent
        self._consumer: AIOKafkaConsumer | None = None
        self._tail: asyncio.Task | None = None

    async def start(self) -> None:
        """Read every call accepted in the window (up to the current end of the topic), then keep following."""
        consumer = AIOKafkaConsumer(**self._config, enable_auto_commit=False, group_id=None, client_id="hoso-replay")
        await consumer.start()
        self._consumer = consumer
        if self._topic not in await consumer.topics():  # nothing was ever accepted (publishing fails as well)
            log.warning("replay window: topic %s does not exist; nothing to recover", self._topic)
            return
        tps = [TopicPartition(self._topic, p) for p in range(self._partitions)]
        consumer.assign(tps)
        since_ms = int((self._clock() - self._window_s) * 1000)
        starts = await consumer.offsets_for_times(dict.fromkeys(tps, since_ms))
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            found = starts.get(tp)
            consumer.seek(tp, found.offset if found is not None else ends[tp])
        async with asyncio.timeout(CATCH_UP_TIMEOUT_S):
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                self._take(await consumer.getmany(timeout_ms=500))
        log.info("replay window: %d calls accepted in the last %.0f s", len(self.recent), self._window_s)
        self._tail = asyncio.create_task(self._follow(), name="webhook-replay-window")

    async def _follow(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                self._take(await self._consumer.getmany(timeout_ms=1000))
            except asyncio.CancelledError:
                raise
            except Exception:  # the broker away for a while: keep trying, the cache still answers
                log.warning("replay window: reading accepted calls failed; retrying", exc_info=True)
                await asyncio.sleep(1)

    def _take(self, batches: dict[Any, list[Any]]) -> None:
        for records in batches.values():
            for record in records:
                try:
                    event_id = orjson.loads(record.value or b"{}").get("event_id")
                except (orjson.JSONDecodeError, AttributeError):
                    continue
                if isinstance(event_id, str):
                    self.recent.add(event_id)
        metrics.WEBHOOK_REPLAY_WINDOW.set(len(self.recent))

    async def stop(self) -> None:
        """Stop following."""
        if self._tail is not None:
            self._tail.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._tail
            self._tail = None
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
