"""Who follows a dossier: merges agency consent and chat subscriptions into one follower set.

The set lives in a Faust table keyed by dossier code, so it is co-partitioned with the dossier events
it is joined with. An opt-out (``HUY``, withdrawn consent) leaves an *opt-out marker* in place of the
follower: agencies resend the same consent flags with every sync of the dossier, and without the marker
the next sync would silently re-subscribe someone who said no. Only a new act of consent re-activates:
the citizen's own ``DK``, or agency consent whose ``dong_y_luc`` is later than the opt-out. Readers use
``decode``, which returns active followers only, so no code path can message an opted-out person.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
from pydantic import SecretStr

from schemas.common import pseudonym
from schemas.dossier_event import DossierEvent, Recipient
from schemas.subscription import Disclosure, Subscription, SubscriptionSource

Followers = dict[str, dict[str, Any]]


def subscriber_id(key: str | SecretStr, recipient_phone: str | None, zalo_user_id: str | None) -> str:
    """Pseudonymous id of a person: by phone when known (ZBS reaches phones), else by Zalo user id."""
    if recipient_phone:
        return pseudonym(key, "p", recipient_phone)
    if zalo_user_id:
        return pseudonym(key, "z", zalo_user_id)
    raise ValueError("a subscriber needs a phone or a Zalo user id")


def consent_changes(event: DossierEvent, key: str, current: Followers | None = None) -> list[Subscription]:
    """Subscriptions (or withdrawals) implied by the recipients and consent flags in an agency event.

    A standing consent flag does not undo an opt-out recorded in ``current``; consent given (``dong_y_luc``)
    after the opt-out does.
    """
    changes = []
    for r in event.data.nguoi_nhan_thong_bao:
        if r.phone is None and r.zalo_user_id is None:
            continue
        change = _from_recipient(event, r, key, event.occurred_at)
        marker = (current or {}).get(change.subscriber_id)
        if change.active and marker is not None and marker.get("active") is False:
            opted_out = datetime.fromisoformat(marker["opted_out_at"])
            if r.dong_y_luc is None or r.dong_y_luc <= opted_out:
                continue
        changes.append(change)
    return changes


def _from_recipient(event: DossierEvent, r: Recipient, key: str, when: datetime) -> Subscription:
    return Subscription(
        ma_ho_so=event.data.ma_ho_so,
        subscriber_id=subscriber_id(key, r.phone, r.zalo_user_id),
        ho_ten_hien_thi=r.ho_ten_hien_thi,
        phone=r.phone,
        zalo_user_id=r.zalo_user_id,
        source=SubscriptionSource.AGENCY_CONSENT,
        dong_y_sms=r.dong_y_sms or None,
        active=r.dong_y_zalo,
        updated_at=r.dong_y_luc or when,
    )


def apply(followers: Followers, change: Subscription) -> Followers:
    """The follower set after ``change``; a new dict, so a table write sees a changed value."""
    updated = dict(followers)
    if change.active:
        updated[change.subscriber_id] = change.model_dump(mode="json", exclude_none=True)
    else:
        updated[change.subscriber_id] = {
            "active": False,
            "opted_out_at": change.updated_at.isoformat(),
            "source": change.source.value,
        }
    return updated


def decode(raw: bytes | None) -> Followers:
    """Active followers from their table bytes (what every reader wants)."""
    return active(decode_all(raw))


def decode_all(raw: bytes | None) -> Followers:
    """Followers and opt-out markers (what writers must keep)."""
    return orjson.loads(raw) if raw else {}


def active(followers: Followers) -> Followers:
    """Only the followers who may be messaged."""
    return {sid: f for sid, f in followers.items() if f.get("active", True)}


def encode(followers: Followers) -> bytes:
    """Followers to table bytes (sorted, so equal sets are equal bytes)."""
    return orjson.dumps(followers, option=orjson.OPT_SORT_KEYS)


# --- disclosure levels ---------------------------------------------------------------------------


def disclosure(entry: dict[str, Any]) -> Disclosure:
    """How much this follower is told: recorded level, else FULL for agency consent and PUBLIC for chat."""
    level = entry.get("disclosure")
    if level:
        return Disclosure(level)
    return Disclosure.PUBLIC if entry.get("source") == SubscriptionSource.CHAT.value else Disclosure.FULL


def sees_full(followers: Followers, ids: list[str]) -> bool:
    """True when one of ``ids`` (a requester and the identities they proved) follows at the FULL level."""
    return any(sid in followers and disclosure(followers[sid]) is Disclosure.FULL for sid in ids)


def registered_phones(followers: Followers) -> dict[str, str]:
    """Subscriber id -> phone of the phones the agency registered for this dossier (where a one-time code
    may go: Zalo delivers a ZBS message only to the account that owns the number)."""
    return {
        sid: f["phone"]
        for sid, f in sorted(followers.items())
        if f.get("phone") and f.get("source") == SubscriptionSource.AGENCY_CONSENT.value
    }


# --- follows waiting for a dossier's first sync --------------------------------------------------

Pending = dict[str, dict[str, Any]]
PENDING_PER_DOSSIER = 50
"""A code nobody has synced yet is worth waiting on for a few people; more is someone collecting codes."""


def live_pending(pending: Pending, now: datetime) -> Pending:
    """The waiting follows that have not lapsed."""
    return {sid: p for sid, p in pending.items() if datetime.fromisoformat(p["expires_at"]) > now}


def add_pending(
    pending: Pending, sid: str, *, zalo_user_id: str, oa_id: str, now: datetime, ttl: timedelta
) -> Pending | None:
    """The waiting follows after ``sid`` asks to follow (lapsed ones dropped); None when the dossier is full."""
    live = live_pending(pending, now)
    if sid not in live and len(live) >= PENDING_PER_DOSSIER:
        return None
    live[sid] = {
        "zalo_user_id": zalo_user_id,
        "oa_id": oa_id,
        "requested_at": now.isoformat(),
        "expires_at": (now + ttl).isoformat(),
    }
    return live


def decode_pending(raw: bytes | None) -> Pending:
    """Waiting follows from their table bytes."""
    return orjson.loads(raw) if raw else {}


def encode_pending(pending: Pending) -> bytes | None:
    """Table bytes of waiting follows (None, a delete, when there are none)."""
    return orjson.dumps(pending, option=orjson.OPT_SORT_KEYS) if pending else None
