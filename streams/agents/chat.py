"""Agents of the citizen chat flow: Zalo events (by citizen), dossier commands (by dossier), citizen commands.

Thin by design: each decodes, reads tables of its own partition, calls ``streams.chat_flow`` and stages
what it returned in a batch (``streams.batching``): records are acknowledged before the dedupe mark is
written, so a crash in between can only repeat an effect (replies carry deterministic tracking ids; follow /
unfollow are idempotent), never lose it.
Logs name event kinds and outcomes only: never a phone number, Zalo user id or message text.
"""

from __future__ import annotations

import logging
from typing import Any

import faust
import orjson

from hoso import metrics
from schemas import codec
from schemas.chat_command import CitizenCommand, DossierCommand
from schemas.common import now_vn
from schemas.problems import Problem
from schemas.topics import (
    CHAT_SEEN_TABLE,
    CITIZEN_CONTACT_TABLE,
    CITIZEN_DOSSIERS_TABLE,
    DOSSIER_PROOFS_TABLE,
    DOSSIER_STATE_TABLE,
    FOLLOWERS_TABLE,
    OA_AUDIENCE_TABLE,
    PENDING_FOLLOWS_TABLE,
    RATING_INVITES_TABLE,
    ZBS_DELIVERY_TABLE,
)
from schemas.zalo_event import ZaloEvent, ZaloServer
from streams import audience as aud
from streams import chat_flow as flow
from streams import followers as fol
from streams import guard, proofs
from streams.batching import Batch
from streams.context import StreamsApp, engine_for
from streams.dossier_state import DossierState
from streams.ratings import FEEDBACK_EVENT, rating_record, zbs_rating
from streams.template_catalogue import OTP

log = logging.getLogger("hoso.streams.chat")


def register(ctx: StreamsApp) -> None:
    """Attach the chat agents to ``ctx.app`` (the consent index is fed by the join agent)."""
    settings, topics = ctx.settings, ctx.topics
    P = settings.partitions
    zalo_events = ctx.topic(topics.zalo_events.name, P)
    dossier_commands = ctx.topic(topics.dossier_commands.name, P)
    citizen_commands = ctx.topic(topics.citizen_commands.name, P)
    subscription_changes = ctx.topic(topics.subscription_changes.name, P)
    notifications = ctx.topic(topics.notifications.name, P)
    ratings = ctx.topic(topics.ratings.name, P)  # issue 20: survey answers recorded by dossier commands
    ctx.table(CHAT_SEEN_TABLE)
    ctx.table(CITIZEN_CONTACT_TABLE)
    ctx.table(CITIZEN_DOSSIERS_TABLE)
    ctx.table(ZBS_DELIVERY_TABLE)
    ctx.table(DOSSIER_STATE_TABLE)
    ctx.table(FOLLOWERS_TABLE)
    ctx.table(PENDING_FOLLOWS_TABLE)
    ctx.table(DOSSIER_PROOFS_TABLE)
    ctx.table(RATING_INVITES_TABLE)  # issue 20: filled by streams.agents.ratings, keyed like ZNS events
    ctx.table(OA_AUDIENCE_TABLE)  # issue 20: OA followers and the areas they asked news of
    policy = flow.ChatPolicy.from_settings(settings, engine_for(ctx).catalogue.template(settings.default_oa_id, OTP))

    def stage_all(batch: Batch, result: Any) -> None:
        """Everything a command produced, acknowledged by Kafka before any table records it as done.

        The batch pipeline (``streams.batching``) stops the worker if Kafka refuses a send, instead of
        letting the event be acknowledged and, say, a citizen's HUY be lost.
        """
        for c in getattr(result, "dossier_commands", []):
            batch.send(dossier_commands, c.ma_ho_so.encode(), codec.dumps(c))
        for c in getattr(result, "citizen_commands", []):
            batch.send(citizen_commands, c.subscriber_id.encode(), codec.dumps(c))
        for ch in getattr(result, "changes", []):
            batch.send(subscription_changes, ch.ma_ho_so.encode(), codec.dumps(ch))
        for r in getattr(result, "ratings", []):  # issue 20
            batch.send(ratings, *rating_record(r))
        for n in getattr(result, "replies", []):
            batch.send(notifications, n.key.encode(), codec.dumps(n))
            metrics.NOTIFICATIONS_EMITTED.labels("none", n.kind.value).inc()
        refusal = getattr(result, "refusal", None)
        if refusal:
            metrics.CHAT_REFUSALS.labels(refusal).inc()

    def handle_zalo_event(batch: Batch, record: faust.EventT, event: ZaloEvent) -> str:
        key = record.key
        seen = flow.load_list(batch.get(CHAT_SEEN_TABLE, key))
        if event.event_id in seen:
            return "duplicate"
        oa_event = event.server is ZaloServer.OA
        if not oa_event and event.event_name == FEEDBACK_EVENT:  # issue 20: the ZBS rating template's callback
            rated = zbs_rating(event, batch.get(RATING_INVITES_TABLE, key), ttl=policy.rating_ttl)
            if rated.rating is not None:
                batch.send(ratings, *rating_record(rated.rating))
            elif rated.problem is not None:
                guard.park(ctx, batch, record, [rated.problem])
            batch.put(record, CHAT_SEEN_TABLE, key, flow.dump_list(flow.seen_after(seen, event.event_id)))
            return rated.outcome
        contact_raw = batch.get(CITIZEN_CONTACT_TABLE, key) if oa_event else None
        result = flow.on_zalo_event(
            event,
            contact=orjson.loads(contact_raw) if contact_raw else None,
            dossiers=flow.load_list(batch.get(CITIZEN_DOSSIERS_TABLE, key)) if oa_event else [],
            policy=policy,
            now=now_vn(),
            audience=aud.decode(batch.get(OA_AUDIENCE_TABLE, key)) if oa_event else None,
        )
        stage_all(batch, result)
        if result.audience_changed:
            batch.put(record, OA_AUDIENCE_TABLE, key, aud.encode(result.audience))
        if result.audience_change:
            metrics.OA_AUDIENCE_CHANGES.labels(result.audience_change).inc()
        if result.contact is not None:
            batch.put(record, CITIZEN_CONTACT_TABLE, key, orjson.dumps(result.contact))
        if result.dossiers is not None:
            batch.put(record, CITIZEN_DOSSIERS_TABLE, key, flow.dump_list(result.dossiers))
        if result.delivery is not None:
            batch.put(record, ZBS_DELIVERY_TABLE, key, orjson.dumps(result.delivery))
        batch.put(record, CHAT_SEEN_TABLE, key, flow.dump_list(flow.seen_after(seen, event.event_id)))
        if result.command != "none":
            metrics.CHAT_COMMANDS.labels(result.command, result.outcome).inc()
        return result.outcome

    @ctx.app.agent(zalo_events, name="chat_zalo_events")
    async def chat_zalo_events(stream: faust.StreamT) -> None:
        """Deduplicate each webhook event and turn it into commands, contact updates and replies."""
        async for batch in ctx.pipeline.batches(stream):
            for record in batch:
                event, problems = codec.decode(ZaloEvent, record.value or b"")
                if event is None or record.key is None:
                    metrics.ZALO_EVENTS.labels("other", "invalid").inc()
                    guard.park(ctx, batch, record, problems or [Problem("key", "missing")])
                    continue
                try:
                    outcome = handle_zalo_event(batch, record, event)
                except Exception as exc:  # one bad event must not stop the citizen flow
                    log.exception("chat event %s failed: %s", flow.event_label(event.event_name), type(exc).__name__)
                    guard.park(ctx, batch, record, guard.problems_of(exc))
                    outcome = "error"
                metrics.ZALO_EVENTS.labels(flow.event_label(event.event_name), outcome).inc()

    @ctx.app.agent(dossier_commands, name="chat_dossier_commands")
    async def chat_dossier_commands(stream: faust.StreamT) -> None:
        """Answer and apply follow / look-up / unfollow requests where the dossier's tables live."""
        async for batch in ctx.pipeline.batches(stream):
            for record in batch:
                cmd, problems = codec.decode(DossierCommand, record.value or b"")
                if cmd is None or record.key != cmd.ma_ho_so.encode():
                    metrics.CHAT_COMMANDS.labels("unknown", "invalid").inc()
                    guard.park(ctx, batch, record, problems or [Problem("key", "must be the dossier code")])
                    continue
                try:
                    key = record.key
                    state = DossierState.from_bytes(batch.get(DOSSIER_STATE_TABLE, key))
                    followers = fol.decode(batch.get(FOLLOWERS_TABLE, key))
                    result = flow.on_dossier_command(
                        cmd,
                        state,
                        followers,
                        policy=policy,
                        now=now_vn(),
                        pending=fol.decode_pending(batch.get(PENDING_FOLLOWS_TABLE, key)),
                        proofs=proofs.decode(batch.get(DOSSIER_PROOFS_TABLE, key)),
                    )
                    stage_all(batch, result)
                    if result.pending is not None:
                        batch.put(record, PENDING_FOLLOWS_TABLE, key, fol.encode_pending(result.pending))
                    if result.proofs is not None:
                        batch.put(record, DOSSIER_PROOFS_TABLE, key, proofs.encode(result.proofs))
                    outcome = result.outcome
                except Exception as exc:
                    log.exception("dossier command %s failed: %s", cmd.action.value, type(exc).__name__)
                    guard.park(ctx, batch, record, guard.problems_of(exc))
                    outcome = "error"
                metrics.CHAT_COMMANDS.labels(cmd.action.value, outcome).inc()

    @ctx.app.agent(citizen_commands, name="chat_citizen_commands")
    async def chat_citizen_commands(stream: faust.StreamT) -> None:
        """Keep each identity's index of followed dossiers; fan "stop all" out to those dossiers.

        Batched like the join (``streams.batching``): an index change is written only once the dossier
        commands it produced are acknowledged.
        """
        async for batch in ctx.pipeline.batches(stream):
            for record in batch:
                cmd, problems = codec.decode(CitizenCommand, record.value or b"")
                if cmd is None or record.key != cmd.subscriber_id.encode():
                    metrics.CHAT_COMMANDS.labels("citizen", "invalid").inc()
                    guard.park(ctx, batch, record, problems or [Problem("key", "must be the subscriber id")])
                    continue
                try:
                    current = flow.load_list(batch.get(CITIZEN_DOSSIERS_TABLE, record.key))
                    updated, commands = flow.on_citizen_command(cmd, current)
                except Exception as exc:  # never an exit loop over one record
                    guard.park(ctx, batch, record, guard.problems_of(exc))
                    continue
                contact_raw = batch.get(CITIZEN_CONTACT_TABLE, record.key)
                contact = flow.contact_after(
                    cmd, orjson.loads(contact_raw) if contact_raw else None, pending_ttl=policy.pending_ttl
                )
                if contact is not None:
                    batch.put(record, CITIZEN_CONTACT_TABLE, record.key, orjson.dumps(contact))
                current = flow.load_list(batch.get(CITIZEN_DOSSIERS_TABLE, record.key))
                updated, commands = flow.on_citizen_command(cmd, current)
                for c in commands:
                    batch.send(dossier_commands, c.ma_ho_so.encode(), codec.dumps(c))
                if updated is not None:
                    batch.put(record, CITIZEN_DOSSIERS_TABLE, record.key, flow.dump_list(updated))

    ctx.agents["chat_zalo_events"] = chat_zalo_events
    ctx.agents["chat_dossier_commands"] = chat_dossier_commands
    ctx.agents["chat_citizen_commands"] = chat_citizen_commands
