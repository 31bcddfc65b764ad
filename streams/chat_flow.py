"""The citizen chat flow as plain code: what each record causes, decided without Kafka or Faust.

Three steps, each reading and writing only tables of its own partition:

* ``on_zalo_event`` (keyed by citizen): dedupe, parse the command, keep the citizen's contact and index of
  followed dossiers, and re-key each dossier request as a ``DossierCommand``;
* ``on_dossier_command`` (keyed by dossier): read state and followers, write follow / unfollow as
  ``Subscription`` changes, render the reply;
* ``on_citizen_command`` (keyed by identity): index a dossier followed through agency consent, or fan a
  "stop all" out to every dossier an identity (e.g. a linked phone) follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from schemas.chat_command import CitizenAction, CitizenCommand, DossierAction, DossierCommand
from schemas.common import normalize_phone
from schemas.dossier_event import DossierEvent
from schemas.notification import Addressee, Kind, Notification, Priority, SendChannel, tracking_id_for
from schemas.rating import Rating
from schemas.subscription import Subscription, SubscriptionSource
from schemas.zalo_event import ZaloEvent, ZaloServer
from streams import chat_replies as replies
from streams import ratings as survey
from streams.chat_commands import Verb, parse
from streams.dossier_state import DossierState
from streams.followers import Followers, subscriber_id

SEEN_KEPT = 64
KNOWN_EVENTS = frozenset(
    {
        "user_send_text",
        "follow",
        "unfollow",
        "user_submit_info",
        "user_received_message",
        "user_seen_message",
        "oa_send_text",
        "change_template_status",
        "change_oa_daily_quota",
    }
)


def event_label(name: str) -> str:
    """Event name for a metric label: Zalo's known names, ``user_send_other`` or ``other`` (bounded)."""
    if name in KNOWN_EVENTS:
        return name
    return "user_send_other" if name.startswith("user_send_") else "other"


# --- small table codecs ---------------------------------------------------------------------------


def load_list(raw: bytes | None) -> list[str]:
    """A JSON list of strings from table bytes."""
    return list(orjson.loads(raw)) if raw else []


def dump_list(values: list[str]) -> bytes:
    """Table bytes of a list of strings."""
    return orjson.dumps(values)


def seen_after(seen: list[str], event_id: str) -> list[str]:
    """The recent-ids list after ``event_id`` (bounded, oldest dropped)."""
    return [*seen, event_id][-SEEN_KEPT:]


# --- step 1: a webhook event, keyed by citizen ---------------------------------------------------


@dataclass
class ChatResult:
    """What one Zalo event causes; the agent writes exactly this."""

    outcome: str
    command: str = "none"
    contact: dict[str, Any] | None = None
    dossiers: list[str] | None = None
    delivery: dict[str, Any] | None = None
    dossier_commands: list[DossierCommand] = field(default_factory=list)
    citizen_commands: list[CitizenCommand] = field(default_factory=list)
    replies: list[Notification] = field(default_factory=list)


def reply(
    text: str, *, user_id: str, sid: str, command_id: str, oa_id: str, now: datetime, code: str | None = None
) -> Notification:
    """An OA consultation message answering one request; its tracking id is a function of the request."""
    return Notification(
        tracking_id=tracking_id_for(command_id, sid),
        kind=Kind.REPLY,
        priority=Priority.DOSSIER,
        created_at=now,
        occurred_at=now,
        oa_id=oa_id,
        channel=SendChannel.OA_TEXT,
        to=Addressee(subscriber_id=sid, zalo_user_id=user_id),
        text=text,
        ma_ho_so=code,
    )


def on_zalo_event(
    event: ZaloEvent,
    *,
    contact: dict[str, Any] | None,
    dossiers: list[str],
    pseudonym_key: str,
    default_oa_id: str,
    now: datetime,
) -> ChatResult:
    """Decide what a (new, deduplicated) Zalo event does."""
    if event.server is ZaloServer.ZNS:
        return _zns(event)
    user = event.zalo_user_id
    if not user:
        return ChatResult("ignored")
    sid = subscriber_id(pseudonym_key, None, user)
    oa = event.oa_id or default_oa_id
    ctx = _Ctx(event, user, sid, oa, now, contact or {}, dossiers, pseudonym_key)
    name = event.event_name
    if name == "user_send_text":
        message = event.payload.get("message")
        text = message.get("text") if isinstance(message, dict) else None
        return ctx.command(text if isinstance(text, str) else "")
    if name.startswith("user_send_"):
        return ctx.answer(replies.HELP, "help", Verb.HELP)
    if name == "follow":
        result = ctx.answer(replies.HELP, "followed_oa", None)
        result.contact = {**ctx.contact_base(), "follows_oa": True}
        return result
    if name == "unfollow":
        result = ctx.stop_all(reply_text=None)
        result.outcome, result.command = "unfollowed_oa", "none"
        result.contact = {**ctx.contact_base(), "follows_oa": False}
        return result
    if name == "user_submit_info":
        return ctx.link_phone()
    return ChatResult("ignored")


def _zns(event: ZaloEvent) -> ChatResult:
    if event.event_name != "user_received_message" or not event.tracking_id:
        return ChatResult("ignored")
    message = event.payload.get("message")
    delivery_time = message.get("delivery_time") if isinstance(message, dict) else None
    msg_id = message.get("msg_id") if isinstance(message, dict) else None
    return ChatResult(
        "receipt",
        delivery={
            "tracking_id": event.tracking_id,
            "status": "delivered",
            "msg_id": str(msg_id) if msg_id is not None else None,
            "delivery_time_ms": str(delivery_time) if delivery_time is not None else None,
            "received_at": event.received_at.isoformat(),
        },
    )


@dataclass
class _Ctx:
    event: ZaloEvent
    user: str
    sid: str
    oa: str
    now: datetime
    contact: dict[str, Any]
    dossiers: list[str]
    pseudonym_key: str

    def contact_base(self) -> dict[str, Any]:
        return {**self.contact, "zalo_user_id": self.user, "updated_at": self.now.isoformat()}

    def identities(self) -> list[str]:
        linked = self.contact.get("phone_sid")
        return [self.sid, linked] if linked else [self.sid]

    def answer(self, text: str, outcome: str, verb: Verb | None, code: str | None = None) -> ChatResult:
        note = reply(
            text,
            user_id=self.user,
            sid=self.sid,
            command_id=self.event.event_id,
            oa_id=self.oa,
            now=self.now,
            code=code,
        )
        return ChatResult(outcome, command=verb.value if verb else "none", replies=[note])

    def dossier_command(self, action: DossierAction, code: str, *, reply_to: bool, suffix: str = "") -> DossierCommand:
        return DossierCommand(
            command_id=self.event.event_id + suffix,
            action=action,
            ma_ho_so=code,
            subscriber_ids=[self.sid] if action is not DossierAction.UNFOLLOW else self.identities(),
            reply_to=self.user if reply_to else None,
            reply_subscriber_id=self.sid if reply_to else None,
            oa_id=self.oa,
            requested_at=self.now,
        )

    def command(self, text: str) -> ChatResult:
        rated = self.survey_answer(text)  # issue 20: a satisfaction answer is consulted before the commands
        if rated is not None:
            return rated
        cmd = parse(text)
        if cmd.verb is Verb.HELP:
            return self.answer(replies.HELP, "help", Verb.HELP)
        if cmd.problem is not None:
            return self.answer(replies.needs_code(cmd.verb, cmd.problem), f"code_{cmd.problem}", cmd.verb)
        if cmd.verb is Verb.STOP and cmd.code is None:
            return self.stop_all(reply_text=replies.unfollowed_all())
        assert cmd.code is not None
        action = {Verb.FOLLOW: DossierAction.FOLLOW, Verb.LOOKUP: DossierAction.LOOKUP}.get(
            cmd.verb, DossierAction.UNFOLLOW
        )
        result = ChatResult("forwarded", command=cmd.verb.value)
        result.dossier_commands.append(self.dossier_command(action, cmd.code, reply_to=True))
        if action is DossierAction.FOLLOW and cmd.code not in self.dossiers:
            result.dossiers = sorted({*self.dossiers, cmd.code})
        elif action is DossierAction.UNFOLLOW and cmd.code in self.dossiers:
            result.dossiers = [d for d in self.dossiers if d != cmd.code]
        return result

    def survey_answer(self, text: str) -> ChatResult | None:
        """A rating answer ("3", "rất hài lòng, …") sent to each followed dossier; None: not an answer.

        Only citizens who follow a dossier can have a survey pending; each dossier decides whether the
        answer is for it (``streams.ratings.on_rate``: finished, surveyed, followed by this citizen).
        """
        answer = survey.parse_rating(text) if self.dossiers else None
        if answer is None:
            return None
        result = ChatResult("rating_forwarded", command="RATE")
        for code in self.dossiers:
            c = self.dossier_command(DossierAction.RATE, code, reply_to=True, suffix=f"/rate/{code}")
            result.dossier_commands.append(
                c.model_copy(update={"muc_do": int(answer.level), "noi_dung": answer.comment})
            )
        return result

    def stop_all(self, *, reply_text: str | None) -> ChatResult:
        result = (
            self.answer(reply_text, "stopped_all", Verb.STOP)
            if reply_text
            else ChatResult("stopped_all", command=Verb.STOP.value)
        )
        for code in self.dossiers:
            result.dossier_commands.append(
                self.dossier_command(DossierAction.UNFOLLOW, code, reply_to=False, suffix=f"/{code}")
            )
        result.dossiers = [] if self.dossiers else None
        linked = self.contact.get("phone_sid")
        if linked and reply_text is not None:  # an OA unfollow only ends OA chat, not phone (ZBS) consent
            result.citizen_commands.append(
                CitizenCommand(
                    command_id=self.event.event_id + "/phone",
                    action=CitizenAction.UNFOLLOW_ALL,
                    subscriber_id=linked,
                    oa_id=self.oa,
                    requested_at=self.now,
                )
            )
        return result

    def link_phone(self) -> ChatResult:
        info = self.event.payload.get("info")
        raw = info.get("phone") if isinstance(info, dict) else None
        phone = normalize_phone(str(raw)) if raw is not None else None
        if phone is None:
            return ChatResult("phone_invalid")
        result = self.answer(replies.phone_linked(), "phone_linked", None)
        result.contact = {**self.contact_base(), "phone_sid": subscriber_id(self.pseudonym_key, phone, None)}
        return result


# --- step 2: a request about one dossier, keyed by dossier ---------------------------------------


@dataclass
class DossierResult:
    """What one dossier command causes."""

    outcome: str
    changes: list[Subscription] = field(default_factory=list)
    replies: list[Notification] = field(default_factory=list)
    ratings: list[Rating] = field(default_factory=list)


def on_dossier_command(
    cmd: DossierCommand, state: DossierState | None, followers: Followers, *, now: datetime
) -> DossierResult:
    """Follow, look up or unfollow one dossier, from the state and followers of its own partition.

    An unknown dossier is never followed (a typo must not collect a follower forever). Unfollow removes
    every identity named, whether or not the follower table has it yet, so a stop sent right after a
    follow cannot lose the race with it.
    """
    code = cmd.ma_ho_so
    if cmd.action is DossierAction.RATE:  # issue 20: survey answers (streams/ratings.py)
        return _rate(cmd, state, followers, now=now)
    result = DossierResult("unknown_dossier" if state is None else "ok")
    if cmd.action is DossierAction.UNFOLLOW:
        result.outcome = "unfollowed"
        result.changes = [
            Subscription(ma_ho_so=code, subscriber_id=sid, source=SubscriptionSource.CHAT, active=False, updated_at=now)
            for sid in cmd.subscriber_ids
        ]
        text = replies.unfollowed(code)
    elif state is None:
        text = replies.not_found(code)
    elif cmd.action is DossierAction.LOOKUP:
        text = replies.lookup(state)
    else:
        sid = cmd.subscriber_ids[0] if cmd.subscriber_ids else None
        if sid and cmd.reply_to:
            current = followers.get(sid, {})
            result.outcome = "already_following" if current.get("zalo_user_id") == cmd.reply_to else "followed"
            result.changes = [
                Subscription(
                    ma_ho_so=code,
                    subscriber_id=sid,
                    zalo_user_id=cmd.reply_to,
                    source=SubscriptionSource.CHAT,
                    active=True,
                    updated_at=now,
                )
            ]
        text = replies.followed(state)
    if cmd.reply_to and cmd.reply_subscriber_id:
        result.replies.append(
            reply(
                text,
                user_id=cmd.reply_to,
                sid=cmd.reply_subscriber_id,
                command_id=cmd.command_id,
                oa_id=cmd.oa_id,
                now=now,
                code=code,
            )
        )
    return result


def _rate(cmd: DossierCommand, state: DossierState | None, followers: Followers, *, now: datetime) -> DossierResult:
    rating, text = survey.on_rate(cmd, state, followers, now=now)
    if rating is None or text is None:
        return DossierResult("not_rated")
    result = DossierResult("rated", ratings=[rating])
    if cmd.reply_to and cmd.reply_subscriber_id:
        result.replies.append(
            reply(
                text,
                user_id=cmd.reply_to,
                sid=cmd.reply_subscriber_id,
                command_id=cmd.command_id,
                oa_id=cmd.oa_id,
                now=now,
                code=cmd.ma_ho_so,
            )
        )
    return result


# --- step 3: a request about one identity, keyed by subscriber id --------------------------------


def on_citizen_command(cmd: CitizenCommand, dossiers: list[str]) -> tuple[list[str] | None, list[DossierCommand]]:
    """The identity's new dossier index (None: unchanged) and the dossier commands to send."""
    if cmd.action is CitizenAction.INDEX_ADD:
        if cmd.ma_ho_so is None or cmd.ma_ho_so in dossiers:
            return None, []
        return sorted({*dossiers, cmd.ma_ho_so}), []
    commands = [
        DossierCommand(
            command_id=f"{cmd.command_id}/{code}",
            action=DossierAction.UNFOLLOW,
            ma_ho_so=code,
            subscriber_ids=[cmd.subscriber_id],
            oa_id=cmd.oa_id,
            requested_at=cmd.requested_at,
        )
        for code in dossiers
    ]
    return ([] if dossiers else None), commands


def consent_index(event: DossierEvent, *, pseudonym_key: str, oa_id: str, now: datetime) -> list[CitizenCommand]:
    """INDEX_ADD for each consenting recipient of a valid dossier event, so "HUY" can later find the dossier.

    Emitted by the join agent beside the event's notifications (the event is parsed once); an index entry
    too many only costs a no-op unfollow, one too few would leave a message going out after "stop all".
    """
    code = event.data.ma_ho_so
    out = []
    for r in event.data.nguoi_nhan_thong_bao:
        if not r.dong_y_zalo or (r.phone is None and r.zalo_user_id is None):
            continue
        sid = subscriber_id(pseudonym_key, r.phone, r.zalo_user_id)
        out.append(
            CitizenCommand(
                command_id=f"consent/{code}/{sid}",
                action=CitizenAction.INDEX_ADD,
                subscriber_id=sid,
                ma_ho_so=code,
                oa_id=oa_id,
                requested_at=now,
            )
        )
    return out
