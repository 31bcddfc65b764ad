"""Timers and the tick agent that release what dossiers hold: reordered events, low-value messages, surveys,
messages deferred by quiet hours; overdue detection; the purge of follows that waited in vain for a
dossier's first sync (a code nobody ever syncs would otherwise keep its row for good); and the purge of survey
invitations past ``HOSO_RATING_INVITE_TTL_DAYS`` (the ``rating_invites`` table would otherwise grow for good).

Faust's RocksDB store can only be written while an event of the table's partition is being processed (a
timer has no current event), so timers never write tables. A timer scans the table partitions this worker
owns, and for each dossier with something due it sends a small *tick* record keyed by the dossier code to
``lifecycle-ticks.v1``. That topic is co-partitioned with the dossier topic, so the tick comes back to the
agent below on this same worker, which does the release inside stream iteration: table writes land in the
right changelog partition, and the tick's offset is committed only after its messages were handed to Kafka.
A tick carries the time it was issued, which is the "now" of the release (tests send ticks from the future).
An invitation's tick is keyed by its tracking id, like the table: every topic here has the same partition
count, so Faust gives the tick's partition and the invitation's to the same worker, and the deletion lands in
the changelog partition the invitation was written to.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import faust
import orjson

from hoso import metrics
from schemas.problems import Problem
from schemas.topics import (
    DOSSIER_HOLD_TABLE,
    DOSSIER_STATE_TABLE,
    FOLLOWERS_TABLE,
    PENDING_FOLLOWS_TABLE,
    RATING_INVITES_TABLE,
)
from streams import followers as fol
from streams import guard
from streams.batching import Batch
from streams.context import StreamsApp, engine_for, stage
from streams.dossier_state import DossierState, overdue
from streams.hold import Hold
from streams.join import release
from streams.ratings import invite_lapsed
from streams.rules import FINISHED

log = logging.getLogger("hoso.streams.lifecycle")

RELEASE = "release"
OVERDUE = "overdue"
PURGE = "purge"
EXPIRE_INVITE = "expire_invite"


def tick_record(kind: str, at: datetime) -> bytes:
    """The value of a tick."""
    return orjson.dumps({"kind": kind, "at": at.isoformat()})


def register(ctx: StreamsApp) -> None:
    """Attach the tick agent and the two timers to ``ctx.app``."""
    settings = ctx.settings
    engine = engine_for(ctx)
    ticks = ctx.topic(ctx.topics.lifecycle_ticks.name, ctx.topics.lifecycle_ticks.partitions)
    state_table = ctx.table(DOSSIER_STATE_TABLE)
    hold_table = ctx.table(DOSSIER_HOLD_TABLE)
    pending_table = ctx.table(PENDING_FOLLOWS_TABLE)
    invites_table = ctx.table(RATING_INVITES_TABLE)
    invite_ttl = timedelta(days=settings.rating_invite_ttl_days)
    in_flight: dict[bytes, datetime] = {}

    @ctx.app.agent(ticks, name="apply_lifecycle_ticks")
    async def apply_lifecycle_ticks(stream: faust.StreamT) -> None:
        """Release what a dossier holds, or raise its OVERDUE state, when a timer says it is due."""
        async for batch in ctx.pipeline.batches(stream):
            for record in batch:
                try:
                    apply_tick(batch, record)
                except Exception as exc:  # a bug in one release must not crash-loop the worker on this tick
                    log.exception("tick at offset %s failed", record.message.offset)
                    guard.park(ctx, batch, record, guard.problems_of(exc))

    def apply_tick(batch: Batch, record: faust.EventT) -> None:
        key = record.key
        try:
            tick = orjson.loads(record.value or b"{}")
            at = datetime.fromisoformat(tick["at"])
            kind = tick["kind"]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            guard.park(ctx, batch, record, [Problem("", f"not a tick: {type(exc).__name__}: {exc}")])
            return
        if key is None:
            guard.park(ctx, batch, record, [Problem("key", "a tick needs the dossier code as its key")])
            return
        in_flight.pop(key, None)
        if kind == PURGE:
            waiting = fol.decode_pending(batch.get(PENDING_FOLLOWS_TABLE, key))
            live = fol.live_pending(waiting, at)
            if live != waiting:
                batch.put(record, PENDING_FOLLOWS_TABLE, key, fol.encode_pending(live))
                log.info("%d follows lapsed waiting for a dossier's first sync", len(waiting) - len(live))
            return
        if kind == EXPIRE_INVITE:  # keyed by the invitation's tracking id
            if invite_lapsed(batch.get(RATING_INVITES_TABLE, key), at, invite_ttl):
                batch.put(record, RATING_INVITES_TABLE, key, None)
            return
        if kind == OVERDUE:
            state = DossierState.from_bytes(batch.get(DOSSIER_STATE_TABLE, key))
            raised = overdue(state, at, FINISHED) if state is not None else None
            if raised is not None:
                batch.put(record, DOSSIER_STATE_TABLE, key, raised.to_bytes())
                metrics.OVERDUE_DOSSIERS.labels(metrics.LABELS.agency(raised.source_system)).inc()
            return
        out = release(
            engine,
            batch.get(DOSSIER_STATE_TABLE, key),
            batch.get(DOSSIER_HOLD_TABLE, key),
            batch.get(FOLLOWERS_TABLE, key),
            at,
        )
        stage(ctx, batch, record, key, out)

    async def send_tick(key: bytes, kind: str, now: datetime) -> None:
        # A tick already on its way for this key is enough; resend only if it seems lost.
        last = in_flight.get(key)
        if last is not None and (now - last).total_seconds() < 30:
            return
        in_flight[key] = now
        await ticks.send(key=key, value=tick_record(kind, now), force=True)

    @ctx.app.timer(interval=settings.lifecycle_tick_s, name="release_due_holds")
    async def release_due_holds() -> None:
        """Scan this worker's held dossiers; tick those with something due."""
        now = ctx.clock()
        due = [key for key, raw in list(hold_table.items()) if _due(raw, now)]
        for key in due:
            await send_tick(key, RELEASE, now)

    @ctx.app.timer(interval=settings.overdue_scan_s, name="detect_overdue")
    async def detect_overdue() -> None:
        """Scan this worker's dossiers for a missed appointment date with processing unfinished."""
        now = ctx.clock()
        late = []
        for key, raw in list(state_table.items()):
            state = DossierState.from_bytes(raw)
            if state is not None and overdue(state, now, FINISHED) is not None:
                late.append(key)
        for key in late:
            await ticks.send(key=key, value=tick_record(OVERDUE, now), force=True)
        if late:
            log.info("overdue scan: %d dossiers newly past their appointment date", len(late))

    @ctx.app.timer(interval=settings.overdue_scan_s, name="purge_lapsed_pending_follows")
    async def purge_lapsed_pending_follows() -> None:
        """Scan this worker's waiting follows (same cadence as the overdue scan); tick dossiers with lapsed ones."""
        now = ctx.clock()
        lapsed = [
            key
            for key, raw in list(pending_table.items())
            if len(fol.live_pending(waiting := fol.decode_pending(raw), now)) < len(waiting)
        ]
        for key in lapsed:
            await ticks.send(key=key, value=tick_record(PURGE, now), force=True)

    @ctx.app.timer(interval=settings.overdue_scan_s, name="purge_expired_rating_invites")
    async def purge_expired_rating_invites() -> None:
        """Scan this worker's survey invitations (same cadence as the overdue scan); tick those past their life."""
        now = ctx.clock()
        lapsed = [key for key, raw in list(invites_table.items()) if invite_lapsed(raw, now, invite_ttl)]
        for key in lapsed:
            await ticks.send(key=key, value=tick_record(EXPIRE_INVITE, now), force=True)
        if lapsed:
            log.info("%d survey invitations past their life: purging", len(lapsed))

    ctx.agents["apply_lifecycle_ticks"] = apply_lifecycle_ticks
    ctx.agents["release_due_holds"] = release_due_holds
    ctx.agents["detect_overdue"] = detect_overdue
    ctx.agents["purge_lapsed_pending_follows"] = purge_lapsed_pending_follows
    ctx.agents["purge_expired_rating_invites"] = purge_expired_rating_invites


def _due(raw: bytes | None, now: datetime) -> bool:
    if not raw:
        return False
    when = Hold.from_bytes(raw).next_due()
    return when is not None and when <= now
