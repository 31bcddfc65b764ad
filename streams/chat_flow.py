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

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from schemas.chat_command import CitizenAction, CitizenCommand, DossierAction, DossierCommand
from schemas.dossier_event import DossierEvent
from schemas.notification import Addressee, Kind, Notification, Priority, SendChannel, tracking_id_for
from schemas.rating import Rating
from schemas.subscription import Disclosure, Subscription, SubscriptionSource
from schemas.zalo_event import ZaloEvent, ZaloServer
from streams import audience as aud
from streams import chat_areas, render
from streams import chat_replies as replies
from streams import followers as fol
from streams import proofs as proofs_
from streams import ratings as survey
from streams.areas import AreaCatalogue
from streams.areas import built_in as built_in_areas
from streams.areas import load as load_areas
from streams.chat_commands import Command, Verb, parse
from streams.dossier_state import DossierState
from streams.followers import Followers, subscriber_id
from streams.template_catalogue import Template

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
        "user_feedback",  # issue 20: modelled name of the ZBS rating template's callback (streams/ratings.py)
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


# --- policy ---------------------------------------------------------------------------------------


DEFAULT_OTP_TEMPLATE = Template("hoso-otp", {"otp": ("otp", 10), "ma_ho_so": ("ma_ho_so", 50)})


@dataclass(frozen=True)
class ChatPolicy:
    """The settings the chat flow decides with (built once from ``Settings``; tests build their own)."""

    pseudonym_key: str
    default_oa_id: str
    proof_key: str = "hoso-demo-proof-key"
    lookups_per_hour: int = 20
    proofs_per_hour: int = 5
    pending_per_citizen: int = 5
    pending_ttl: timedelta = timedelta(days=14)
    otp_ttl: timedelta = timedelta(minutes=10)
    proof_failures_per_dossier: int = 10
    otp_template: Template = DEFAULT_OTP_TEMPLATE
    """The approved ZBS OTP template (the catalogue's ``OTP`` entry)."""
    areas: AreaCatalogue = field(default_factory=built_in_areas)
    """Provinces and communes citizens may name in ``THEO DOI`` (issue 20)."""
    rating_ttl: timedelta = survey.DEFAULT_TTL
    """How long a survey can be answered after its invitation (issue 20)."""

    @classmethod
    def from_settings(cls, settings: Any, otp_template: Template | None = None) -> ChatPolicy:
        """The policy of a deployment."""
        extra = {"otp_template": otp_template} if otp_template is not None else {}
        return cls(
            **extra,
            pseudonym_key=settings.pseudonym_key.get_secret_value(),
            default_oa_id=settings.default_oa_id,
            proof_key=settings.proof_key.get_secret_value(),
            lookups_per_hour=settings.chat_lookups_per_hour,
            proofs_per_hour=settings.chat_proofs_per_hour,
            pending_per_citizen=settings.pending_follows_per_citizen,
            pending_ttl=timedelta(days=settings.pending_follow_days),
            otp_ttl=timedelta(seconds=settings.otp_ttl_s),
            proof_failures_per_dossier=settings.proof_failures_per_dossier,
            areas=load_areas(settings.area_catalogue),
            rating_ttl=timedelta(days=settings.rating_invite_ttl_days),
        )

    @property
    def otp_minutes(self) -> int:
        """The one-time code's life as citizens are told it."""
        return max(1, round(self.otp_ttl.total_seconds() / 60))


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
    refusal: str | None = None
    """Why a request was refused (a bounded label for ``hoso_chat_refusals_total``)."""
    audience: aud.Entry | None = None
    """The citizen's OA-audience row after this event (only meaningful when ``audience_changed``)."""
    audience_changed: bool = False
    audience_change: str | None = None
    """What changed in the OA audience (a bounded label for ``hoso_oa_audience_changes_total``)."""


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


def _answer(result: DossierResult, cmd: DossierCommand, text: str, *, now: datetime, code: str | None) -> None:
    """Add the reply to the citizen who sent ``cmd``, when it asked for one (a fan-out step does not)."""
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


def on_zalo_event(
    event: ZaloEvent,
    *,
    contact: dict[str, Any] | None,
    dossiers: list[str],
    policy: ChatPolicy,
    now: datetime,
    audience: aud.Entry | None = None,
) -> ChatResult:
    """Decide what a (new, deduplicated) Zalo event does; ``audience`` is the citizen's OA-audience row."""
    if event.server is ZaloServer.ZNS:
        return _zns(event)
    user = event.zalo_user_id
    if not user:
        return ChatResult("ignored")
    sid = subscriber_id(policy.pseudonym_key, None, user)
    oa = event.oa_id or policy.default_oa_id
    ctx = _Ctx(event, user, sid, oa, now, contact or {}, dossiers, policy, audience)
    name = event.event_name
    if name == "user_send_text":
        message = event.payload.get("message")
        text = message.get("text") if isinstance(message, dict) else None
        return ctx.command(text if isinstance(text, str) else "")
    if name.startswith("user_send_"):
        return ctx.answer(replies.HELP, "help", Verb.HELP)
    if name == "follow":
        result = ctx.answer(replies.welcome(), "followed_oa", None)
        result.contact = {**ctx.contact_base(), "follows_oa": True}
        result.audience = aud.followed(audience, user=user, oa=oa, now=now)
        result.audience_changed, result.audience_change = True, "followed_oa"
        return result
    if name == "unfollow":
        result = ctx.end_chat()
        result.contact = {**ctx.contact_base(), "follows_oa": False}
        result.audience = aud.unfollowed(audience)
        result.audience_changed, result.audience_change = audience is not None, "unfollowed_oa"
        return result
    if name == "user_submit_info":
        return ctx.shared_info(event.payload.get("info"))
    return ChatResult("ignored")


def _field(fields: dict[str, Any], name: str) -> str:
    """A form field as text ("" when missing, empty or not text): forms send what citizens typed, or nothing."""
    value = fields.get(name)
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return value.strip() if isinstance(value, str) else ""


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


_COUNTED = {Verb.FOLLOW: "lookups", Verb.LOOKUP: "lookups", Verb.PROVE: "proofs"}


@dataclass
class _Ctx:
    event: ZaloEvent
    user: str
    sid: str
    oa: str
    now: datetime
    contact: dict[str, Any]
    dossiers: list[str]
    policy: ChatPolicy
    audience: aud.Entry | None = None

    def contact_base(self) -> dict[str, Any]:
        # "phone_sid" was linked from a typed phone (user_submit_info) before proof existed: never trusted.
        kept = {k: v for k, v in self.contact.items() if k != "phone_sid"}
        return {**kept, "zalo_user_id": self.user, "updated_at": self.now.isoformat()}

    def proven_phone(self) -> str | None:
        return self.contact.get("proven_phone_sid")

    def identities(self) -> list[str]:
        linked = self.proven_phone()
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

    def dossier_command(
        self,
        action: DossierAction,
        code: str,
        *,
        reply_to: bool,
        suffix: str = "",
        ids: list[str] | None = None,
        secret: str | None = None,
        may_wait: bool = True,
    ) -> DossierCommand:
        return DossierCommand(
            command_id=self.event.event_id + suffix,
            action=action,
            ma_ho_so=code,
            subscriber_ids=ids if ids is not None else [self.sid],
            reply_to=self.user if reply_to else None,
            reply_subscriber_id=self.sid if reply_to else None,
            oa_id=self.oa,
            requested_at=self.now,
            linked_ids=[s for s in [self.proven_phone()] if s],
            secret=secret,
            may_wait=may_wait,
        )

    def rate(self, verb: Verb) -> tuple[dict[str, Any], bool]:
        """The citizen's counters after this request, and whether it is within the hourly limit."""
        hour = self.now.strftime("%Y-%m-%dT%H")
        counters = dict(self.contact.get("rate") or {})
        if counters.get("hour") != hour:
            counters = {"hour": hour}
        kind = _COUNTED[verb]
        used = int(counters.get(kind, 0))
        limit = self.policy.lookups_per_hour if kind == "lookups" else self.policy.proofs_per_hour
        if used >= limit:
            return counters, False
        counters[kind] = used + 1
        return counters, True

    def live_pending(self) -> dict[str, str]:
        pending = self.contact.get("pending") or {}
        return {c: exp for c, exp in pending.items() if datetime.fromisoformat(exp) > self.now}

    def command(self, text: str) -> ChatResult:
        rated = self.survey_answer(text)  # issue 20: a satisfaction answer is consulted before the commands
        if rated is not None:
            return rated
        area = chat_areas.parse(text, self.policy.areas)  # issue 20: THEO DOI <area> / BO THEO DOI
        if area is not None:
            return self.area_command(area)
        cmd = parse(text)
        if cmd.verb is Verb.HELP:
            return self.answer(replies.HELP, "help", Verb.HELP)
        if cmd.verb is Verb.PROVE and cmd.code is None and cmd.secret is not None:
            proving = self.contact.get("proving")
            if not isinstance(proving, dict) or datetime.fromisoformat(proving["until"]) <= self.now:
                return self.answer(replies.no_proof_pending(), "no_proof_pending", Verb.PROVE)
            cmd = Command(Verb.PROVE, code=proving["code"], secret=cmd.secret)
        if cmd.problem is not None:
            return self.answer(replies.needs_code(cmd.verb, cmd.problem), f"code_{cmd.problem}", cmd.verb)
        if cmd.verb is Verb.STOP and cmd.code is None:
            return self.stop_all()
        assert cmd.code is not None
        contact = None
        if cmd.verb in _COUNTED:
            counters, allowed = self.rate(cmd.verb)
            if not allowed:
                minutes = 60 - self.now.minute
                result = self.answer(replies.rate_limited(minutes), "refused", cmd.verb)
                result.refusal = "lookup_rate" if _COUNTED[cmd.verb] == "lookups" else "proof_rate"
                return result
            contact = {**self.contact_base(), "rate": counters}
        result = ChatResult("forwarded", command=cmd.verb.value, contact=contact)
        code = cmd.code
        if cmd.verb is Verb.PROVE:
            result.dossier_commands.append(
                self.dossier_command(DossierAction.PROVE, code, reply_to=True, secret=cmd.secret)
            )
            base = result.contact or self.contact_base()
            result.contact = (
                {**base, "proving": {"code": code, "until": (self.now + self.policy.otp_ttl).isoformat()}}
                if cmd.secret is None
                else base
            )
            if cmd.secret is not None and code not in self.dossiers:  # a proof that succeeds is a follow
                result.dossiers = sorted({*self.dossiers, code})
            return result
        if cmd.verb is Verb.LOOKUP:
            result.dossier_commands.append(self.dossier_command(DossierAction.LOOKUP, code, reply_to=True))
            return result
        if cmd.verb is Verb.FOLLOW:
            live = self.live_pending()
            may_wait = code in live or len(live) < self.policy.pending_per_citizen
            result.dossier_commands.append(
                self.dossier_command(DossierAction.FOLLOW, code, reply_to=True, may_wait=may_wait)
            )
            if code not in self.dossiers:
                result.dossiers = sorted({*self.dossiers, code})
            return result
        # HUY <code>: every identity of this user stops following it (and stops waiting for it).
        result.dossier_commands.append(
            self.dossier_command(DossierAction.UNFOLLOW, code, reply_to=True, ids=self.identities())
        )
        if code in self.dossiers:
            result.dossiers = [d for d in self.dossiers if d != code]
        if code in (self.contact.get("pending") or {}):
            pending = {c: e for c, e in self.contact["pending"].items() if c != code}
            result.contact = {**self.contact_base(), "pending": pending}
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

    def area_command(self, area: chat_areas.AreaCommand) -> ChatResult:
        """``THEO DOI <area>`` / ``BO THEO DOI [area]``: the citizen's OA-audience row and the answer."""
        found = list(area.resolved.areas)
        names = [a.name for a in found]
        if area.verb is chat_areas.AreaVerb.STOP_AREA:
            result = self.answer(replies.area_stopped(names or None), "area_stopped", None)
            result.command = area.verb.value
            updated = aud.without_areas(self.audience, found or None, now=self.now)
            result.audience, result.audience_changed = updated, self.audience is not None
            result.audience_change = "area_removed" if found else "areas_cleared"
            return result
        if found:
            result = self.answer(replies.area_followed(names), "area_followed", None)
            result.audience = aud.with_areas(self.audience, found, user=self.user, oa=self.oa, now=self.now)
            result.audience_changed, result.audience_change = True, "area_added"
        elif area.resolved.ambiguous:
            options = [f"{a.name}, {self.policy.areas.by_code[a.province].name}" for a in area.resolved.ambiguous[0]]
            result = self.answer(replies.area_ambiguous(options), "area_ambiguous", None)
            result.audience_change = "area_unknown"
        else:
            examples = [a.name for a in self.policy.areas.examples()] + ["tỉnh Quảng Ninh"]
            result = self.answer(replies.area_unknown(examples), "area_unknown", None)
            result.audience_change = "area_unknown"
        result.command = area.verb.value
        return result

    def shared_info(self, info: object) -> ChatResult:
        """Zalo's information form (``user_submit_info``): an address places the citizen for area news.

        A phone typed into a form proves nothing (anyone can type the owner's number): it is not stored and
        links nothing, and the citizen is told how to prove ownership instead. An address that names a known
        area (``AreaCatalogue.resolve_address``) follows that area's news exactly as ``THEO DOI <area>``
        would; the OA-audience row keeps the area's code, never the address, the name or the phone.
        """
        fields = info if isinstance(info, dict) else {}
        address, ward, district, city = (_field(fields, k) for k in ("address", "ward", "district", "city"))
        phone = bool(_field(fields, "phone"))
        if not (address or ward or district or city):
            return self.answer(replies.phone_not_proof(), "phone_not_proof", None)
        catalogue = self.policy.areas
        found = catalogue.resolve_address(address, ward=ward, city=city)
        if found.areas:
            names = [a.name for a in found.areas]
            result = self.answer(replies.address_followed(names, phone_shared=phone), "address_area_followed", None)
            result.audience = aud.with_areas(self.audience, found.areas, user=self.user, oa=self.oa, now=self.now)
            result.audience_changed, result.audience_change = True, "area_added"
            return result
        options = [f"{a.name}, {catalogue.by_code[a.province].name}" for a in (found.ambiguous or [()])[0]]
        examples = [a.name for a in catalogue.examples()] + ["tỉnh Quảng Ninh"]
        text = replies.address_unknown(examples, options=options or None, phone_shared=phone)
        result = self.answer(text, "address_unknown", None)
        result.audience_change = "area_unknown"
        return result

    def stop_all(self) -> ChatResult:
        """``HUY``: every dossier this user follows, by chat and through a phone they proved is theirs."""
        result = self.answer(replies.unfollowed_all(), "stopped_all", Verb.STOP)
        ids = self.identities()
        for code in self.dossiers:
            result.dossier_commands.append(
                self.dossier_command(DossierAction.UNFOLLOW, code, reply_to=False, suffix=f"/{code}", ids=ids)
            )
        result.dossiers = [] if self.dossiers else None
        if self.contact.get("pending"):
            result.contact = {**self.contact_base(), "pending": {}}
        linked = self.proven_phone()
        if linked:
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

    def end_chat(self) -> ChatResult:
        """An OA unfollow ends OA chat only: the chat identity stops following; phone (ZBS) notices and the
        agency's consent for them are untouched."""
        result = ChatResult("unfollowed_oa")
        for code in self.dossiers:
            result.dossier_commands.append(
                self.dossier_command(DossierAction.UNFOLLOW, code, reply_to=False, suffix=f"/{code}", ids=[self.sid])
            )
        result.dossiers = [] if self.dossiers else None
        return result


# --- step 2: a request about one dossier, keyed by dossier ---------------------------------------


@dataclass
class DossierResult:
    """What one dossier command causes."""

    outcome: str
    changes: list[Subscription] = field(default_factory=list)
    replies: list[Notification] = field(default_factory=list)
    citizen_commands: list[CitizenCommand] = field(default_factory=list)
    pending: fol.Pending | None = None
    """The dossier's waiting follows after this command (None: unchanged)."""
    proofs: proofs_.Proofs | None = None
    """The dossier's proof state after this command (None: unchanged)."""
    refusal: str | None = None
    ratings: list[Rating] = field(default_factory=list)


def on_dossier_command(
    cmd: DossierCommand,
    state: DossierState | None,
    followers: Followers,
    *,
    policy: ChatPolicy,
    now: datetime,
    pending: fol.Pending | None = None,
    proofs: proofs_.Proofs | None = None,
    new_otp: Callable[[], str] = proofs_.new_otp,
) -> DossierResult:
    """Follow, look up, prove or unfollow one dossier, from the tables of its own partition.

    A follow of an unknown dossier waits (bounded, expiring) for its first sync instead of being refused: an
    online dossier is often known to the citizen before the agency's system syncs it. Unfollow removes every
    identity named, whether or not the follower table has it yet, so a stop sent right after a follow cannot
    lose the race with it. Without proof, a requester sees and is sent only what a public look-up shows.
    """
    code = cmd.ma_ho_so
    if cmd.action is DossierAction.RATE:  # issue 20: survey answers (streams/ratings.py)
        return _rate(cmd, state, followers, now=now, ttl=policy.rating_ttl)
    result = DossierResult("unknown_dossier" if state is None else "ok")
    sid = cmd.subscriber_ids[0] if cmd.subscriber_ids else None
    full = state is not None and sid is not None and fol.sees_full(followers, [sid, *cmd.linked_ids])
    text: str | None
    if cmd.action is DossierAction.UNFOLLOW:
        result.outcome = "unfollowed"
        result.changes = [
            Subscription(ma_ho_so=code, subscriber_id=s, source=SubscriptionSource.CHAT, active=False, updated_at=now)
            for s in cmd.subscriber_ids
        ]
        if pending and any(s in pending for s in cmd.subscriber_ids):
            result.pending = {s: p for s, p in pending.items() if s not in cmd.subscriber_ids}
        text = replies.unfollowed(code)
    elif cmd.action is DossierAction.PROVE:
        text = _prove(cmd, state, followers, result, policy=policy, now=now, proofs=proofs or {}, new_otp=new_otp)
    elif state is None and cmd.action is DossierAction.FOLLOW and sid and cmd.reply_to:
        text = _wait(cmd, sid, result, policy=policy, now=now, pending=pending or {})
    elif state is None:
        text = replies.not_found(code)
    elif cmd.action is DossierAction.LOOKUP:
        text = replies.lookup(state, full=full)
    else:
        if sid and cmd.reply_to:
            current = followers.get(sid, {})
            result.outcome = "already_following" if current.get("zalo_user_id") == cmd.reply_to else "followed"
            result.changes = [_chat_follow(code, sid, cmd.reply_to, full, now)]
        if cmd.pending_since is not None and cmd.reply_to:
            result.outcome = "pending_confirmed"
            text = replies.pending_confirmed(state, full=full)
            result.citizen_commands.append(_citizen(cmd, CitizenAction.PENDING_DONE, cmd.reply_subscriber_id))
        else:
            text = replies.followed(state, full=full)
    if text:
        _answer(result, cmd, text, now=now, code=code)
    return result


def _chat_follow(code: str, sid: str, user: str, full: bool, now: datetime) -> Subscription:
    return Subscription(
        ma_ho_so=code,
        subscriber_id=sid,
        zalo_user_id=user,
        source=SubscriptionSource.CHAT,
        active=True,
        updated_at=now,
        disclosure=Disclosure.FULL if full else Disclosure.PUBLIC,
    )


def _citizen(cmd: DossierCommand, action: CitizenAction, sid: str | None, linked: str | None = None) -> CitizenCommand:
    assert sid is not None
    return CitizenCommand(
        command_id=f"{cmd.command_id}/{action.value.lower()}",
        action=action,
        subscriber_id=sid,
        ma_ho_so=cmd.ma_ho_so,
        oa_id=cmd.oa_id,
        requested_at=cmd.requested_at,
        linked_id=linked,
    )


def _wait(
    cmd: DossierCommand, sid: str, result: DossierResult, *, policy: ChatPolicy, now: datetime, pending: fol.Pending
) -> str:
    """A follow of a dossier not synced yet: recorded as waiting, or refused past the citizen's bound."""
    code = cmd.ma_ho_so
    if not cmd.may_wait:  # the citizen's side found them waiting on too many codes already
        result.outcome, result.refusal = "refused", "pending_limit"
        return replies.pending_limit(policy.pending_per_citizen)
    assert cmd.reply_to is not None
    updated = fol.add_pending(pending, sid, zalo_user_id=cmd.reply_to, oa_id=cmd.oa_id, now=now, ttl=policy.pending_ttl)
    if updated is None:
        result.outcome, result.refusal = "refused", "pending_limit"
        return replies.not_found(code)
    result.outcome, result.pending = "pending", updated
    result.citizen_commands.append(_citizen(cmd, CitizenAction.PENDING_ADD, cmd.reply_subscriber_id))
    return replies.pending(code, now + policy.pending_ttl)


def _prove(
    cmd: DossierCommand,
    state: DossierState | None,
    followers: Followers,
    result: DossierResult,
    *,
    policy: ChatPolicy,
    now: datetime,
    proofs: proofs_.Proofs,
    new_otp: Callable[[], str],
) -> str:
    code = cmd.ma_ho_so
    sid = cmd.subscriber_ids[0] if cmd.subscriber_ids else None
    if state is None or sid is None or cmd.reply_to is None:
        return replies.not_found(code)
    if proofs_.locked(proofs, now, policy.proof_failures_per_dossier):
        result.outcome, result.refusal = "refused", "proof_locked"
        return replies.proof_locked(code)
    if cmd.secret is None:
        phones = fol.registered_phones(followers)
        if not phones:
            result.outcome = "no_phone"
            return replies.no_registered_phone(code)
        if not proofs_.may_send(proofs, now):
            result.outcome, result.refusal = "refused", "otp_rate"
            return replies.rate_limited(60 - now.minute)
        otp = new_otp()
        updated = proofs_.sent_one(proofs, now)
        for phone_sid, phone in list(phones.items())[:2]:
            updated = proofs_.issue(
                updated,
                key=policy.pseudonym_key,
                code=code,
                sid=sid,
                phone_sid=phone_sid,
                otp=otp,
                now=now,
                ttl=policy.otp_ttl,
            )
            result.replies.append(_otp_message(cmd, phone_sid, phone, otp, policy=policy, now=now))
        result.outcome, result.proofs = "otp_sent", updated
        return replies.otp_sent(code, policy.otp_minutes)
    checked = proofs_.check(
        proofs,
        key=policy.pseudonym_key,
        proof_key=policy.proof_key,
        code=code,
        sid=sid,
        secret=cmd.secret,
        id_hash_expected=state.xac_thuc_hash,
        now=now,
        failures_per_dossier=policy.proof_failures_per_dossier,
    )
    result.proofs = checked.proofs
    if checked.proven is None:
        result.outcome, result.refusal = "refused", checked.refusal
        return replies.proof_locked(code) if checked.refusal == "proof_locked" else replies.proof_wrong(code)
    result.outcome = f"proven_{checked.proven.value}"
    result.changes = [_chat_follow(code, sid, cmd.reply_to, True, now)]
    if checked.phone_sid is not None:
        result.citizen_commands.append(_citizen(cmd, CitizenAction.LINK_PHONE, sid, checked.phone_sid))
    return replies.proven(state)


def _otp_message(
    cmd: DossierCommand, phone_sid: str, phone: str, otp: str, *, policy: ChatPolicy, now: datetime
) -> Notification:
    """The one-time code by ZBS template to a registered phone (template ``OTP`` of the catalogue)."""
    values = render.otp_values(cmd.ma_ho_so, otp, policy.otp_minutes)
    return Notification(
        tracking_id=tracking_id_for(cmd.command_id + "/otp", phone_sid),
        kind=Kind.REPLY,
        priority=Priority.DOSSIER,
        created_at=now,
        occurred_at=now,
        oa_id=cmd.oa_id,
        channel=SendChannel.ZBS_PHONE,
        to=Addressee(subscriber_id=phone_sid, phone=phone),
        template_id=policy.otp_template.template_id,
        template_data=policy.otp_template.data(values),
        text=replies.otp_text(cmd.ma_ho_so, policy.otp_minutes),
        ma_ho_so=cmd.ma_ho_so,
    )


def pending_confirmations(
    code: str, pending: fol.Pending, *, now: datetime, default_oa_id: str
) -> list[DossierCommand]:
    """Follow commands for everyone who waited on ``code``, sent when its first event has been applied."""
    return [
        DossierCommand(
            command_id=f"pending/{code}/{sid}/{p['requested_at']}",
            action=DossierAction.FOLLOW,
            ma_ho_so=code,
            subscriber_ids=[sid],
            reply_to=p["zalo_user_id"],
            reply_subscriber_id=sid,
            oa_id=p.get("oa_id") or default_oa_id,
            requested_at=now,
            pending_since=datetime.fromisoformat(p["requested_at"]),
        )
        for sid, p in sorted(fol.live_pending(pending, now).items())
    ]


def _rate(
    cmd: DossierCommand, state: DossierState | None, followers: Followers, *, now: datetime, ttl: timedelta
) -> DossierResult:
    rating, text = survey.on_rate(cmd, state, followers, now=now, ttl=ttl)
    if text is None:
        return DossierResult("not_rated")
    result = DossierResult("rated", ratings=[rating]) if rating is not None else DossierResult("survey_closed")
    _answer(result, cmd, text, now=now, code=cmd.ma_ho_so)
    return result


# --- step 3: a request about one identity, keyed by subscriber id --------------------------------


def on_citizen_command(cmd: CitizenCommand, dossiers: list[str]) -> tuple[list[str] | None, list[DossierCommand]]:
    """The identity's new dossier index (None: unchanged) and the dossier commands to send."""
    if cmd.action is CitizenAction.INDEX_ADD:
        if cmd.ma_ho_so is None or cmd.ma_ho_so in dossiers:
            return None, []
        return sorted({*dossiers, cmd.ma_ho_so}), []
    if cmd.action is not CitizenAction.UNFOLLOW_ALL:
        return None, []
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


def contact_after(
    cmd: CitizenCommand, contact: dict[str, Any] | None, *, pending_ttl: timedelta
) -> dict[str, Any] | None:
    """The Zalo user's contact row after a command from a dossier partition (None: unchanged)."""
    row = dict(contact or {})
    code = cmd.ma_ho_so
    if cmd.action is CitizenAction.LINK_PHONE and cmd.linked_id:
        return {**row, "proven_phone_sid": cmd.linked_id}
    if cmd.action is CitizenAction.PENDING_ADD and code:
        expires = (cmd.requested_at + pending_ttl).isoformat()
        return {**row, "pending": {**(row.get("pending") or {}), code: expires}}
    if cmd.action is CitizenAction.PENDING_DONE and code and code in (row.get("pending") or {}):
        return {**row, "pending": {c: e for c, e in row["pending"].items() if c != code}}
    return None


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
