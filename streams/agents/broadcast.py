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

import logging
from collections.abc import Iterator
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
from streams.bulk_produce import ReadFailed, bulk_producer, send_partitioned
from streams.context import StreamsApp, engine_for
from streams.fanout import alert_records, followers_in_area, partition_of

log = logging.getLogger("hoso.streams.broadcast")


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

    def records_for(broadcast: Broadcast, partition: int) -> Iterator[tuple[bytes, bytes]]:
        """This partition's share of the broadcast, built lazily while it is sent (an area can be a million
        people): dossier followers first, then the OA audience, each person once."""
        now = ctx.clock()
        by_oa = audience_of(broadcast, partition)  # read before anything is sent: a bad row fails cleanly
        seen: set[str] = set()  # subscriber ids given so far (a set of ids, not a million follower dicts)
        if not broadcast.is_policy:
            local = ((k, v) for k, v in list(state_table.items()) if partition_of(k, partitions) == partition)
            # the store itself: one RocksDB read per dossier (Table.get reads twice: a contains, then the value)
            followers = followers_in_area(local, followers_table.data.get, broadcast, seen)
            oa_id = engine.rules.oa_for(areas.province_of(broadcast.area_code))
            yield from alert_records(broadcast, followers, oa_id=oa_id, now=now, catalogue=engine.catalogue)
        for oa_id, rows in sorted(by_oa.items()):  # the groups are disjoint: only the followers can overlap
            fresh = sorted((sid, row) for sid, row in rows.items() if sid not in seen)
            seen.update(sid for sid, _ in fresh)
            yield from alert_records(broadcast, fresh, oa_id=oa_id, now=now, catalogue=engine.catalogue)

    @ctx.app.agent(broadcasts, name="fan_out_broadcasts")
    async def fan_out_broadcasts(stream: faust.StreamT) -> None:
        """Send a broadcast to everyone it reaches within this record's partition (policy news via pacing)."""
        own = None if ctx.fanout_producer else bulk_producer(ctx.settings, client_id=f"{ctx.settings.app_id}-fanout")
        if own is not None:
            await own.start()
        try:
            async for record in stream.events():
                await fan_out(ctx.fanout_producer or own, record)
        finally:
            if own is not None:
                await own.stop()

    async def fan_out(producer: Any, record: faust.EventT) -> None:
        """One broadcast record: its partition's share sent and acknowledged, or the record parked."""
        partition = record.message.partition
        broadcast, problems = codec.decode(Broadcast, record.value or b"")
        if broadcast is None:
            await guard.park_now(ctx, record, problems)
            return
        target = policy_news if broadcast.is_policy else notifications
        try:
            reached = await send_partitioned(
                producer, target.get_topic_name(), ReadFailed.around(records_for(broadcast, partition))
            )
        except ReadFailed as exc:  # a table row that cannot be read: never an exit loop over one record
            log.error("broadcast at offset %s failed", record.message.offset, exc_info=exc.__cause__)
            await guard.park_now(ctx, record, guard.problems_of(exc.__cause__ or exc))
            return
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
