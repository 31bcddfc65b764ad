"""The join's output: which followers get a message for an event, and the rendered Notification for each."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from schemas.broadcast import Broadcast
from schemas.dossier_event import STATUS_LABEL_VI, DossierEvent, Status
from schemas.notification import (
    Addressee,
    ComplianceFlag,
    Kind,
    Notification,
    Priority,
    SendChannel,
    tracking_id_for,
)
from schemas.subscription import Disclosure
from streams import render
from streams.followers import Followers, disclosure
from streams.template_catalogue import ALERT, Catalogue

# Statuses a citizen is told about. SUBMITTED is confirmed by the portal itself; OVERDUE is internal
# (it must be followed by an apology, DUE_DATE_EXTENDED); SURVEY_SUBMITTED is the citizen's own act.
NOTIFY: frozenset[Status] = frozenset(Status) - {Status.SUBMITTED, Status.OVERDUE, Status.SURVEY_SUBMITTED}

SURVEY_SUFFIX = ":survey"
"""Our own survey invitation is a message about the RESULT_RETURNED event, told apart by this suffix."""


def template_id(status: Status) -> str:
    """The default ZNS template id of a status (what the packaged catalogue uses)."""
    return f"hoso-{status.value.lower().replace('_', '-')}"


def survey_event(returned: DossierEvent) -> DossierEvent:
    """The RESULT_RETURNED event seen as a survey invitation (the link: the agency's, else its lookup page)."""
    data = returned.data.model_copy(
        update={
            "trang_thai": Status.SURVEY_INVITED,
            "trang_thai_label_vi": STATUS_LABEL_VI[Status.SURVEY_INVITED],
            "danh_gia_url": returned.data.danh_gia_url or returned.data.tra_cuu_url,
            "noi_dung_hien_thi": None,
        }
    )
    return returned.model_copy(update={"data": data, "event_type": Status.SURVEY_INVITED})


def notifications_for(
    event: DossierEvent,
    followers: Followers,
    *,
    oa_id: str,
    now: datetime,
    catalogue: Catalogue,
    flags: Iterable[ComplianceFlag] = (),
    message_id: str | None = None,
) -> list[Notification]:
    """One Notification per follower for a notifiable event, in a stable (subscriber id) order.

    ``message_id`` replaces the event id in tracking ids when one event yields a second message (the survey).
    """
    status = event.data.trang_thai
    if status not in NOTIFY:
        return []
    kind = Kind.SURVEY if status is Status.SURVEY_INVITED else Kind.DOSSIER_UPDATE
    priority = Priority.SURVEY if kind is Kind.SURVEY else Priority.DOSSIER
    template = catalogue.template(oa_id, status.value)
    about = message_id or str(event.event_id)
    out = []
    for sid in sorted(followers):
        f = followers[sid]
        if f.get("active") is False:  # an opt-out marker, never a recipient
            continue
        name = f.get("ho_ten_hien_thi")
        phone = f.get("phone")
        channel = SendChannel.ZBS_PHONE if phone else SendChannel.OA_TEXT
        zbs = channel is SendChannel.ZBS_PHONE
        # A chat follower who has not proven the dossier is theirs is told what a public look-up shows.
        public = disclosure(f) is Disclosure.PUBLIC
        out.append(
            Notification(
                tracking_id=tracking_id_for(about, sid),
                kind=kind,
                priority=priority,
                created_at=now,
                occurred_at=event.occurred_at,
                oa_id=oa_id,
                channel=channel,
                to=Addressee(
                    subscriber_id=sid,
                    phone=phone,
                    zalo_user_id=f.get("zalo_user_id"),
                    ho_ten_hien_thi=name,
                    dong_y_sms=f.get("dong_y_sms") or None,
                ),
                template_id=template.template_id if zbs else None,
                template_data=template.data(render.values(event, name)) if zbs else {},
                text=render.public_text(event) if public else render.text(event, name),
                ma_ho_so=event.data.ma_ho_so,
                event_id=str(event.event_id),
                trang_thai=status,
                flags=list(flags),
            )
        )
    return out


def alert_template(
    broadcast: Broadcast, channel: SendChannel, name: str | None, *, oa_id: str, catalogue: Catalogue
) -> tuple[str | None, dict[str, str]]:
    """Template id and data of an area alert on ``channel`` for a person called ``name`` (OA text: none)."""
    if channel is not SendChannel.ZBS_PHONE:
        return None, {}
    if broadcast.template_id:
        return broadcast.template_id, dict(broadcast.template_data)
    template = catalogue.template(oa_id, ALERT)
    return template.template_id, template.data(render.alert_values(broadcast, name))


def alert_for(
    broadcast: Broadcast, subscriber_id: str, follower: dict, *, oa_id: str, now: datetime, catalogue: Catalogue
) -> Notification:
    """The area message for one follower, tracking id fixed by (broadcast, person): an emergency alert in the
    emergency lane, or policy news in the last lane (paced per citizen before it reaches the dispatcher)."""
    name = follower.get("ho_ten_hien_thi")
    phone = follower.get("phone")
    channel = SendChannel.ZBS_PHONE if phone else SendChannel.OA_TEXT
    template_id_, data = alert_template(broadcast, channel, name, oa_id=oa_id, catalogue=catalogue)
    return Notification(
        tracking_id=tracking_id_for(f"broadcast:{broadcast.broadcast_id}", subscriber_id),
        kind=Kind.POLICY if broadcast.is_policy else Kind.ALERT,
        priority=Priority.POLICY if broadcast.is_policy else Priority.EMERGENCY,
        created_at=now,
        occurred_at=broadcast.issued_at,
        oa_id=oa_id,
        channel=channel,
        to=Addressee(
            subscriber_id=subscriber_id,
            phone=phone,
            zalo_user_id=follower.get("zalo_user_id"),
            ho_ten_hien_thi=name,
            dong_y_sms=follower.get("dong_y_sms") or None,
        ),
        template_id=template_id_,
        template_data=data,
        text=broadcast.text,
        broadcast_id=broadcast.broadcast_id,
    )
