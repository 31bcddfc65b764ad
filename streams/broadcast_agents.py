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

import logging
from typing import TYPE_CHECKING

import faust

from hoso import metrics
from schemas import codec
from schemas.broadcast import Broadcast
from schemas.topics import DOSSIER_STATE_TABLE, FOLLOWERS_TABLE
from streams.fanout import partition_of, recipients
from streams.lifecycle_agents import engine_for
from streams.notify import alert_for

if TYPE_CHECKING:
    from streams.app import StreamsApp

log = logging.getLogger("hoso.streams.broadcast")


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
                log.warning(
                    "invalid broadcast at partition %s offset %s: %s",
                    partition,
                    record.message.offset,
                    "; ".join(str(p) for p in problems),
                )
                continue
            local = ((k, v) for k, v in list(state_table.items()) if partition_of(k, partitions) == partition)
            chosen = recipients(local, followers_table.get, broadcast)
            now = ctx.clock()
            for sid, follower in sorted(chosen.items()):
                n = alert_for(broadcast, sid, follower, oa_id=engine.rules.oa_id, now=now, catalogue=engine.catalogue)
                await notifications.send(key=n.key.encode(), value=codec.dumps(n), force=True)
                metrics.NOTIFICATIONS_EMITTED.labels("none", n.kind.value).inc()
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
