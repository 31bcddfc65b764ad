"""The join's output: which followers get a message for an event, and the rendered Notification for each."""

from __future__ import annotations

from datetime import datetime

from schemas.dossier_event import DossierEvent, Status
from schemas.notification import Addressee, Kind, Notification, Priority, SendChannel, tracking_id_for
from streams import render
from streams.followers import Followers

# Statuses a citizen is told about. SUBMITTED is confirmed by the portal itself; OVERDUE is internal
# (it must be followed by an apology, DUE_DATE_EXTENDED); SURVEY_SUBMITTED is the citizen's own act.
NOTIFY: frozenset[Status] = frozenset(Status) - {Status.SUBMITTED, Status.OVERDUE, Status.SURVEY_SUBMITTED}


def template_id(status: Status) -> str:
    """The default ZNS template of a status (a catalogue per OA replaces this in production)."""
    return f"hoso-{status.value.lower().replace('_', '-')}"


def notifications_for(event: DossierEvent, followers: Followers, *, oa_id: str, now: datetime) -> list[Notification]:
    """One Notification per follower for a notifiable event, in a stable (subscriber id) order."""
    status = event.data.trang_thai
    if status not in NOTIFY:
        return []
    kind = Kind.SURVEY if status is Status.SURVEY_INVITED else Kind.DOSSIER_UPDATE
    priority = Priority.SURVEY if kind is Kind.SURVEY else Priority.DOSSIER
    out = []
    for sid in sorted(followers):
        f = followers[sid]
        name = f.get("ho_ten_hien_thi")
        phone = f.get("phone")
        channel = SendChannel.ZBS_PHONE if phone else SendChannel.OA_TEXT
        out.append(
            Notification(
                tracking_id=tracking_id_for(str(event.event_id), sid),
                kind=kind,
                priority=priority,
                created_at=now,
                occurred_at=event.occurred_at,
                oa_id=oa_id,
                channel=channel,
                to=Addressee(subscriber_id=sid, phone=phone, zalo_user_id=f.get("zalo_user_id"), ho_ten_hien_thi=name),
                template_id=template_id(status) if channel is SendChannel.ZBS_PHONE else None,
                template_data=render.template_data(event, name) if channel is SendChannel.ZBS_PHONE else {},
                text=render.text(event, name),
                ma_ho_so=event.data.ma_ho_so,
                event_id=str(event.event_id),
                trang_thai=status,
            )
        )
    return out
