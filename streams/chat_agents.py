"""Agents of the citizen chat flow: Zalo events (by citizen), dossier commands (by dossier), citizen commands.

Thin by design: each decodes, reads tables of its own partition, calls ``streams.chat_flow`` and writes
back what it returned. Records are sent before the dedupe mark is written, so a crash in between can only
repeat an effect (replies carry deterministic tracking ids; follow / unfollow are idempotent), never lose it.
Logs name event kinds and outcomes only: never a phone number, Zalo user id or message text.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import faust
import orjson
from pydantic import ValidationError

from hoso import metrics
from schemas import codec
from schemas.chat_command import CitizenCommand, DossierCommand
from schemas.common import now_vn
from schemas.topics import (
    CHAT_SEEN_TABLE,
    CITIZEN_CONTACT_TABLE,
    CITIZEN_DOSSIERS_TABLE,
    DOSSIER_STATE_TABLE,
    FOLLOWERS_TABLE,
    ZBS_DELIVERY_TABLE,
)
from schemas.zalo_event import ZaloEvent, ZaloServer
from streams import chat_flow as flow
from streams import followers as fol
from streams.batching import send_acknowledged
from streams.lifecycle import DossierState

if TYPE_CHECKING:
    from streams.app import StreamsApp

log = logging.getLogger("hoso.streams.chat")


def register(ctx: StreamsApp) -> None:
    """Attach the chat agents (and the consent index agent) to ``ctx.app``."""
    settings, topics = ctx.settings, ctx.topics
    P = settings.partitions
    zalo_events = ctx.topic(topics.zalo_events.name, P)
    dossier_commands = ctx.topic(topics.dossier_commands.name, P)
    citizen_commands = ctx.topic(topics.citizen_commands.name, P)
    subscription_changes = ctx.topic(topics.subscription_changes.name, P)
    notifications = ctx.topic(topics.notifications.name, P)
    # Its own handle on the dossier topic: the join agent owns the shared one; both see every record.
    dossier_events = ctx.app.topic(
        topics.dossier_events.name, partitions=P, key_serializer="raw", value_serializer="raw"
    )
    seen_table = ctx.table(CHAT_SEEN_TABLE)
    contact_table = ctx.table(CITIZEN_CONTACT_TABLE)
    index_table = ctx.table(CITIZEN_DOSSIERS_TABLE)
    delivery_table = ctx.table(ZBS_DELIVERY_TABLE)
    state_table = ctx.table(DOSSIER_STATE_TABLE)
    followers_table = ctx.table(FOLLOWERS_TABLE)

    async def send_all(result: Any) -> None:
        """Everything a command produced, acknowledged by Kafka before any table records it as done.

        A refused send stops the worker (``send_acknowledged``) instead of raising into the agents'
        error handling, which would acknowledge the event and lose, say, a citizen's HUY.
        """
        sends: list[tuple[faust.TopicT, bytes | None, bytes]] = []
        for c in getattr(result, "dossier_commands", []):
            sends.append((dossier_commands, c.ma_ho_so.encode(), codec.dumps(c)))
        for c in getattr(result, "citizen_commands", []):
            sends.append((citizen_commands, c.subscriber_id.encode(), codec.dumps(c)))
        for ch in getattr(result, "changes", []):
            sends.append((subscription_changes, ch.ma_ho_so.encode(), codec.dumps(ch)))
        for n in getattr(result, "replies", []):
            sends.append((notifications, n.key.encode(), codec.dumps(n)))
            metrics.NOTIFICATIONS_EMITTED.labels("none", n.kind.value).inc()
        await send_acknowledged(sends)

    async def handle_zalo_event(key: bytes, event: ZaloEvent) -> str:
        seen = flow.load_list(seen_table.get(key))
        if event.event_id in seen:
            return "duplicate"
        oa_event = event.server is ZaloServer.OA
        contact_raw = contact_table.get(key) if oa_event else None
        result = flow.on_zalo_event(
            event,
            contact=orjson.loads(contact_raw) if contact_raw else None,
            dossiers=flow.load_list(index_table.get(key)) if oa_event else [],
            pseudonym_key=settings.pseudonym_key,
            default_oa_id=settings.default_oa_id,
            now=now_vn(),
        )
        await send_all(result)
        if result.contact is not None:
            contact_table[key] = orjson.dumps(result.contact)
        if result.dossiers is not None:
            index_table[key] = flow.dump_list(result.dossiers)
        if result.delivery is not None:
            delivery_table[key] = orjson.dumps(result.delivery)
        seen_table[key] = flow.dump_list(flow.seen_after(seen, event.event_id))
        if result.command != "none":
            metrics.CHAT_COMMANDS.labels(result.command, result.outcome).inc()
        return result.outcome

    @ctx.app.agent(zalo_events, name="chat_zalo_events")
    async def chat_zalo_events(stream: faust.StreamT) -> None:
        """Deduplicate each webhook event and turn it into commands, contact updates and replies."""
        async for record in stream.events():
            event, _problems = codec.decode(ZaloEvent, record.value or b"")
            if event is None or record.key is None:
                metrics.ZALO_EVENTS.labels("other", "invalid").inc()
                continue
            try:
                outcome = await handle_zalo_event(record.key, event)
            except Exception as exc:  # one bad event must not stop the citizen flow
                log.exception("chat event %s failed: %s", flow.event_label(event.event_name), type(exc).__name__)
                outcome = "error"
            metrics.ZALO_EVENTS.labels(flow.event_label(event.event_name), outcome).inc()

    @ctx.app.agent(dossier_commands, name="chat_dossier_commands")
    async def chat_dossier_commands(stream: faust.StreamT) -> None:
        """Answer and apply follow / look-up / unfollow requests where the dossier's tables live."""
        async for record in stream.events():
            cmd, _problems = codec.decode(DossierCommand, record.value or b"")
            if cmd is None or record.key != cmd.ma_ho_so.encode():
                metrics.CHAT_COMMANDS.labels("unknown", "invalid").inc()
                continue
            try:
                state = DossierState.from_bytes(state_table.get(record.key))
                result = flow.on_dossier_command(cmd, state, fol.decode(followers_table.get(record.key)), now=now_vn())
                await send_all(result)
                outcome = result.outcome
            except Exception as exc:
                log.exception("dossier command %s failed: %s", cmd.action.value, type(exc).__name__)
                outcome = "error"
            metrics.CHAT_COMMANDS.labels(cmd.action.value, outcome).inc()

    @ctx.app.agent(citizen_commands, name="chat_citizen_commands")
    async def chat_citizen_commands(stream: faust.StreamT) -> None:
        """Keep each identity's index of followed dossiers; fan "stop all" out to those dossiers."""
        async for record in stream.events():
            cmd, _problems = codec.decode(CitizenCommand, record.value or b"")
            if cmd is None or record.key != cmd.subscriber_id.encode():
                metrics.CHAT_COMMANDS.labels("citizen", "invalid").inc()
                continue
            updated, commands = flow.on_citizen_command(cmd, flow.load_list(index_table.get(record.key)))
            await send_acknowledged([(dossier_commands, c.ma_ho_so.encode(), codec.dumps(c)) for c in commands])
            if updated is not None:
                index_table[record.key] = flow.dump_list(updated)

    @ctx.app.agent(dossier_events, name="chat_consent_index")
    async def chat_consent_index(stream: faust.StreamT) -> None:
        """Index the dossiers each consenting recipient follows, for a later "stop all"."""
        async for record in stream.events():
            try:
                commands = flow.consent_index(
                    record.key,
                    record.value,
                    pseudonym_key=settings.pseudonym_key,
                    oa_id=settings.default_oa_id,
                    now=now_vn(),
                )
            except ValidationError:  # a malformed event: the join agent parks it on the invalid topic
                continue
            await send_acknowledged([(citizen_commands, c.subscriber_id.encode(), codec.dumps(c)) for c in commands])

    ctx.agents["chat_zalo_events"] = chat_zalo_events
    ctx.agents["chat_dossier_commands"] = chat_dossier_commands
    ctx.agents["chat_citizen_commands"] = chat_citizen_commands
    ctx.agents["chat_consent_index"] = chat_consent_index
