"""Agents of the dossier flow: join dossier events with followers; apply follow / unfollow requests."""

from __future__ import annotations

import logging
import time
from datetime import datetime

import faust

from hoso import metrics
from schemas import codec
from schemas.problems import Problem
from schemas.subscription import Subscription
from schemas.topics import DOSSIER_HOLD_TABLE, DOSSIER_STATE_TABLE, FOLLOWERS_TABLE, PENDING_FOLLOWS_TABLE
from streams import chat_flow, guard
from streams import followers as fol
from streams.batching import Batch
from streams.context import StreamsApp, engine_for, stage
from streams.engine import FOREIGN, REVIEW, owner_of
from streams.fanout import partition_of
from streams.join import join, parse, refusal

log = logging.getLogger("hoso.streams")


def register(ctx: StreamsApp) -> None:
    """Attach the dossier agents to ``ctx.app``."""
    settings, topics = ctx.settings, ctx.topics
    P = settings.partitions
    # Agencies' own Kafka clients may partition by another hash (librdkafka: CRC32); a record off its murmur2
    # partition is forwarded once through the repartition topic, and both topics feed the same join.
    repartition = ctx.topic(topics.dossier_events_repartition.name, P)
    dossier_events = ctx.app.topic(
        topics.dossier_events.name,
        topics.dossier_events_repartition.name,
        partitions=P,
        key_serializer="raw",
        value_serializer="raw",
    )
    subscription_changes = ctx.topic(topics.subscription_changes.name, P)
    invalid = ctx.topic(topics.dossier_events_invalid.name, topics.dossier_events_invalid.partitions)
    citizen_commands = ctx.topic(topics.citizen_commands.name, P)
    dossier_commands = ctx.topic(topics.dossier_commands.name, P)
    ctx.table(FOLLOWERS_TABLE)
    ctx.table(PENDING_FOLLOWS_TABLE)
    engine = engine_for(ctx)

    def join_one(batch: Batch, record: faust.EventT, now: datetime) -> list[Problem]:
        key = record.key
        msg = record.message
        if (
            key is not None
            and record.value is not None
            and msg.topic == topics.dossier_events.name
            and msg.partition != partition_of(key, P)  # also co-partitioned with followers, holds and ticks
        ):
            batch.send(repartition, key, record.value)
            metrics.DOSSIER_EVENTS_REPARTITIONED.inc()
            return []
        event, problems = parse(key, record.value)
        if event is None:
            return problems
        assert key is not None
        out = join(
            engine,
            event,
            batch.get(DOSSIER_STATE_TABLE, key),
            batch.get(DOSSIER_HOLD_TABLE, key),
            batch.get(FOLLOWERS_TABLE, key),
            now,
        )
        if out.verdict in (FOREIGN, REVIEW):
            metrics.DOSSIER_EVENTS_REFUSED.labels(out.verdict, metrics.LABELS.agency(event.source_system)).inc()
            return [refusal(out.verdict, event, owner_of(out.state, out.hold), engine.rules.max_sequence_jump)]
        metrics.EVENTS.labels(out.verdict or "applied", metrics.LABELS.agency(event.source_system)).inc()
        metrics.AGENCY_LAST_EVENT.labels(metrics.LABELS.agency(event.source_system)).set(time.time())
        if out.followers_changed:  # unchanged followers were indexed when they were added
            for c in chat_flow.consent_index(
                event, pseudonym_key=settings.pseudonym_key.get_secret_value(), oa_id=settings.default_oa_id, now=now
            ):
                batch.send(citizen_commands, c.subscriber_id.encode(), codec.dumps(c))
        stage(ctx, batch, record, key, out, agency=event.source_system)
        waiting = batch.get(PENDING_FOLLOWS_TABLE, key) if out.state is not None else None
        if waiting is not None:  # follows asked for before the first sync: confirm them with the status
            for c in chat_flow.pending_confirmations(
                key.decode(), fol.decode_pending(waiting), now=now, default_oa_id=settings.default_oa_id
            ):
                batch.send(dossier_commands, key, codec.dumps(c))
            batch.put(record, PENDING_FOLLOWS_TABLE, key, None)
        return []

    @ctx.app.agent(dossier_events, name="join_dossier_events")
    async def join_dossier_events(stream: faust.StreamT) -> None:
        """Dedupe and apply each dossier event, update followers, emit one notification per follower.

        Consenting recipients are also indexed by citizen (for "stop all") from the same parse.

        Batched (see ``streams.batching``): messages are acknowledged by Kafka before the state that marks
        their events as handled is written, and that state is written before the events' offsets can be
        committed; a refused send stops the worker before anything is acked.
        """
        async for batch in ctx.pipeline.batches(stream):
            now = ctx.clock()
            for record in batch:
                msg = record.message
                try:
                    problems = join_one(batch, record, now)
                except Exception as exc:  # a bug must not skip a record: park it with the error, keep going
                    log.exception("unexpected error on %s[%s]@%s", msg.topic, msg.partition, msg.offset)
                    problems = [Problem("", f"internal error while processing: {type(exc).__name__}: {exc}")]
                if problems:
                    metrics.EVENTS.labels("invalid", "unknown").inc()  # refusals are counted by reason as well
                    batch.send(invalid, record.key, guard.envelope(record, problems, now))

    @ctx.app.agent(subscription_changes, name="apply_subscription_changes")
    async def apply_subscription_changes(stream: faust.StreamT) -> None:
        """Apply follow / unfollow requests to the followers table (through the pipeline the join writes
        the same table through, so neither overwrites the other's change)."""
        async for batch in ctx.pipeline.batches(stream):
            for record in batch:
                change, problems = codec.decode(Subscription, record.value or b"")
                if change is not None and record.key != change.ma_ho_so.encode():
                    change, problems = None, [Problem("key", "the key must be the dossier code (ma_ho_so)")]
                if change is None:
                    metrics.SUBSCRIPTION_CHANGES.labels("unknown", "invalid").inc()
                    guard.park(ctx, batch, record, problems)
                    continue
                try:
                    current = fol.decode_all(batch.get(FOLLOWERS_TABLE, record.key))
                    batch.put(record, FOLLOWERS_TABLE, record.key, fol.encode(fol.apply(current, change)))
                except Exception as exc:  # never an exit loop over one record
                    guard.park(ctx, batch, record, guard.problems_of(exc))
                    continue
                action = "follow" if change.active else "unfollow"
                metrics.SUBSCRIPTION_CHANGES.labels(change.source.value, action).inc()

    ctx.agents["join_dossier_events"] = join_dossier_events
    ctx.agents["apply_subscription_changes"] = apply_subscription_changes
