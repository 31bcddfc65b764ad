"""The area-alert agent: each worker fans a broadcast out over the table partitions it owns.

``publish_broadcast`` writes the same request to every partition of ``broadcasts.v1``; that topic has the
dossier partition count, so Faust assigns its partition *p* to the worker that owns partition *p* of the
dossier-state and followers tables. The copy on *p* therefore selects recipients among the dossiers of *p*
only: workers fan out in parallel, and a rebalance moves a broadcast partition together with its data.

Tracking ids are a function of (broadcast id, subscriber id), so a redelivered or re-published broadcast
yields the same ids. A person is messaged once per partition; someone following dossiers on two partitions
gets two copies with the same tracking id, on the same notifications partition (keyed by subscriber), which
the dispatcher's sent-log drops.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

import faust

from hoso import metrics
from schemas import codec
from schemas.broadcast import Broadcast
from schemas.notification import Kind
from schemas.topics import DOSSIER_STATE_TABLE, FOLLOWERS_TABLE
from streams import guard
from streams.context import StreamsApp, engine_for
from streams.fanout import alert_records, partition_of, recipients

log = logging.getLogger("hoso.streams.broadcast")

ACK_EVERY = 10_000
"""Alerts produced before waiting for their acknowledgements (bounds the futures held at once)."""


def register(ctx: StreamsApp) -> None:
    """Attach the broadcast agent to ``ctx.app``."""
    topics = ctx.topics
    broadcasts = ctx.topic(topics.broadcasts.name, topics.broadcasts.partitions)
    notifications = ctx.topic(topics.notifications.name, topics.notifications.partitions)
    state_table = ctx.table(DOSSIER_STATE_TABLE)
    followers_table = ctx.table(FOLLOWERS_TABLE)
    engine = engine_for(ctx)
    partitions = ctx.settings.partitions

    @ctx.app.agent(broadcasts, name="fan_out_broadcasts")
    async def fan_out_broadcasts(stream: faust.StreamT) -> None:
        """Send an emergency alert to every follower of a dossier in the area, within this record's partition."""
        async for record in stream.events():
            partition = record.message.partition
            broadcast, problems = codec.decode(Broadcast, record.value or b"")
            if broadcast is None:
                await guard.park_now(ctx, record, problems)
                continue
            try:
                local = ((k, v) for k, v in list(state_table.items()) if partition_of(k, partitions) == partition)
                chosen = recipients(local, followers_table.get, broadcast)
                now = ctx.clock()
                records = alert_records(
                    broadcast, chosen, oa_id=engine.rules.oa_id, now=now, catalogue=engine.catalogue
                )
            except Exception as exc:  # never an exit loop over one record
                log.exception("broadcast at offset %s failed", record.message.offset)
                await guard.park_now(ctx, record, guard.problems_of(exc))
                continue
            await send_all(ctx.app.producer, notifications.get_topic_name(), records)
            metrics.NOTIFICATIONS_EMITTED.labels("none", Kind.ALERT.value).inc(len(chosen))
            metrics.BROADCAST_TARGETED.labels(broadcast.area_level.value.lower()).inc(len(chosen))
            log.info(
                "broadcast %s (%s %s): partition %d fanned out to %d recipients",
                broadcast.broadcast_id,
                broadcast.area_level.value.lower(),
                broadcast.area_code,
                partition,
                len(chosen),
            )

    ctx.agents["fan_out_broadcasts"] = fan_out_broadcasts


async def send_all(producer: Any, topic: str, records: Iterable[tuple[bytes, bytes]]) -> int:
    """Produce ``records`` straight to the producer and wait for every acknowledgement; returns the count.

    The broadcast record is acknowledged (and its offset committed) only after the whole fan-out is on the
    notifications topic. Going around Faust's per-message channel machinery, which cost more than building
    the message, is what lets a million alerts be enqueued in minutes (docs/performance.md).
    """
    pending: list[Awaitable[Any]] = []
    count = 0
    for key, value in records:
        pending.append(await producer.send(topic, key, value, partition=None, timestamp=None, headers=None))
        count += 1
        if len(pending) >= ACK_EVERY:
            await asyncio.gather(*pending)
            pending.clear()
    await asyncio.gather(*pending)
    return count
