"""Who follows a dossier: merges agency consent and chat subscriptions into one follower set.

The set lives in a Faust table keyed by dossier code, so it is co-partitioned with the dossier events
it is joined with. Withdrawn consent removes the follower; it is never left behind with a flag, so no later
code path can message someone who said no.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from schemas.common import pseudonym
from schemas.dossier_event import DossierEvent, Recipient
from schemas.subscription import Subscription, SubscriptionSource

Followers = dict[str, dict[str, Any]]


def subscriber_id(key: str, recipient_phone: str | None, zalo_user_id: str | None) -> str:
    """Pseudonymous id of a person: by phone when known (ZBS reaches phones), else by Zalo user id."""
    if recipient_phone:
        return pseudonym(key, "p", recipient_phone)
    if zalo_user_id:
        return pseudonym(key, "z", zalo_user_id)
    raise ValueError("a subscriber needs a phone or a Zalo user id")


def consent_changes(event: DossierEvent, key: str) -> list[Subscription]:
    """Subscriptions (or withdrawals) implied by the recipients and consent flags in an agency event."""
    changes = []
    for r in event.data.nguoi_nhan_thong_bao:
        if r.phone is None and r.zalo_user_id is None:
            continue
        changes.append(_from_recipient(event, r, key, event.occurred_at))
    return changes


def _from_recipient(event: DossierEvent, r: Recipient, key: str, when: datetime) -> Subscription:
    return Subscription(
        ma_ho_so=event.data.ma_ho_so,
        subscriber_id=subscriber_id(key, r.phone, r.zalo_user_id),
        ho_ten_hien_thi=r.ho_ten_hien_thi,
        phone=r.phone,
        zalo_user_id=r.zalo_user_id,
        source=SubscriptionSource.AGENCY_CONSENT,
        active=r.dong_y_zalo,
        updated_at=r.dong_y_luc or when,
    )


def apply(followers: Followers, change: Subscription) -> Followers:
    """The follower set after ``change``; a new dict, so a table write sees a changed value."""
    updated = dict(followers)
    if change.active:
        updated[change.subscriber_id] = change.model_dump(mode="json", exclude_none=True)
    else:
        updated.pop(change.subscriber_id, None)
    return updated


def decode(raw: bytes | None) -> Followers:
    """Followers from their table bytes."""
    return orjson.loads(raw) if raw else {}


def encode(followers: Followers) -> bytes:
    """Followers to table bytes (sorted, so equal sets are equal bytes)."""
    return orjson.dumps(followers, option=orjson.OPT_SORT_KEYS)
