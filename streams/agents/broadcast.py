"""The area-broadcast agent: each worker fans a broadcast out over the table partitions it owns.

``publish_broadcast`` writes the same request to every partition of ``broadcasts.v1``; that topic has the
dossier partition count, so Faust assigns its partition *p* to the worker that owns partition *p* of the
dossier-state and followers tables. The copy on *p* therefore selects recipients among the dossiers of *p*
only: workers fan out in parallel, and a rebalance moves a broadcast partition together with its data.

Tracking ids are a function of (broadcast id, subscriber id), so a redelivered or re-published broadcast
yields the same ids. A person is messaged once per partition; someone following dossiers on two partitions
gets two copies with the same tracking id, on the same notifications partition (keyed by subscriber), which
the dispatcher's sent-log drops.

Issue 20 adds the OA audience (``streams.audience``): OA followers and citizens who asked for an area's
news, keyed by citizen, scanned the same way on the same partition. An EMERGENCY alert reaches dossier
followers and the OA audience, merged per subscriber id on this partition (a citizen following two dossiers
here and the area is one message); copies from other partitions repeat the tracking id and are dropped by
the dispatcher's sent-log. POLICY news reaches the OA audience only and goes to ``policy-news.v1``, keyed by
citizen, where ``streams.agents.policy_news`` applies quiet hours, the daily cap and one message per
broadcast per person.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Iterable, Iterator
from typing import Any

import faust
import orjson

from hoso import metrics
from schemas import codec
from schemas.broadcast import Broadcast
from schemas.notification import Kind
from schemas.topics import CITIZEN_CONTACT_TABLE, DOSSIER_STATE_TABLE, FOLLOWERS_TABLE, OA_AUDIENCE_TABLE
from streams import audience as aud
from streams import guard
from streams.areas import load as load_areas
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
    audience_table = ctx.table(OA_AUDIENCE_TABLE)
    contact_table = ctx.table(CITIZEN_CONTACT_TABLE)  # same key and partition as the audience rows
    policy_news = ctx.topic(topics.policy_news.name, topics.policy_news.partitions)
    engine = engine_for(ctx)
    partitions = ctx.settings.partitions
    areas = load_areas(ctx.settings.area_catalogue)
    served: dict[str, tuple[str, ...]] = {}
    for province, oa_id in engine.rules.oa_by_province:
        served[oa_id] = (*served.get(oa_id, ()), province)

    def audience_of(broadcast: Broadcast, partition: int) -> dict[str, dict[str, dict]]:
        """The OA audience rows of ``partition`` the broadcast reaches, grouped by the OA that may write."""
        rows = ((k, v) for k, v in list(audience_table.items()) if partition_of(k, partitions) == partition)
        chosen = aud.recipients(
            rows,
            broadcast,
            province_of=areas.province_of,
            oa_provinces=lambda oa: served.get(oa, ()),
            person_of=person_of,
        )
        return aud.by_oa(chosen, engine.rules.oa_id)

    def person_of(sid: str) -> str:
        """A chat identity's proven phone pseudonym when it has one (one person, one tracking id)."""
        raw = contact_table.get(sid.encode())
        contact = orjson.loads(raw) if raw else {}
        return str(contact.get("proven_phone_sid") or sid)

    def records_for(broadcast: Broadcast, partition: int) -> tuple[Iterator[tuple[bytes, bytes]], int]:
        """This partition's share of the broadcast (records built lazily: an area can be a million people),
        and how many people it reaches."""
        now = ctx.clock()
        by_oa = audience_of(broadcast, partition)
        chosen: list[dict[str, Any]] = []  # disjoint sets of people (no copy of a million-follower dict)
        parts: list[Iterator[tuple[bytes, bytes]]] = []
        if not broadcast.is_policy:
            local = ((k, v) for k, v in list(state_table.items()) if partition_of(k, partitions) == partition)
            followers = recipients(local, followers_table.get, broadcast)
            oa_id = engine.rules.oa_for(areas.province_of(broadcast.area_code))
            parts.append(alert_records(broadcast, followers, oa_id=oa_id, now=now, catalogue=engine.catalogue))
            chosen.append(followers)
        for oa_id, rows in sorted(by_oa.items()):
            fresh = {sid: row for sid, row in rows.items() if not any(sid in c for c in chosen)}
            parts.append(alert_records(broadcast, fresh, oa_id=oa_id, now=now, catalogue=engine.catalogue))
            chosen.append(fresh)
        return itertools.chain.from_iterable(parts), sum(len(c) for c in chosen)

    @ctx.app.agent(broadcasts, name="fan_out_broadcasts")
    async def fan_out_broadcasts(stream: faust.StreamT) -> None:
        """Send a broadcast to everyone it reaches within this record's partition (policy news via pacing)."""
        async for record in stream.events():
            partition = record.message.partition
            broadcast, problems = codec.decode(Broadcast, record.value or b"")
            if broadcast is None:
                await guard.park_now(ctx, record, problems)
                continue
            try:
                records, reached = records_for(broadcast, partition)
            except Exception as exc:  # never an exit loop over one record
                log.exception("broadcast at offset %s failed", record.message.offset)
                await guard.park_now(ctx, record, guard.problems_of(exc))
                continue
            target = policy_news if broadcast.is_policy else notifications
            await send_all(await ctx.app.maybe_start_producer(), target.get_topic_name(), records)
            kind = Kind.POLICY if broadcast.is_policy else Kind.ALERT
            metrics.NOTIFICATIONS_EMITTED.labels("none", kind.value).inc(reached)
            metrics.BROADCAST_TARGETED.labels(broadcast.area_level.value.lower()).inc(reached)
            log.info(
                "broadcast %s (%s %s): partition %d fanned out to %d recipients (%s)",
                broadcast.broadcast_id,
                broadcast.area_level.value.lower(),
                broadcast.area_code,
                partition,
                reached,
                broadcast.priority.lower(),
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
