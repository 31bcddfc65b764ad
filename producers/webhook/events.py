"""From a verified webhook body to the record published on ``zalo-events.v1``: identity, user, key.

Zalo delivers at least once and retries with the same body, so the identity is derived from the body
(``message.msg_id`` when there is one, otherwise a hash of the exact bytes): every copy of one call gets
the same ``event_id``, which the receiver's cache and the streams' dedupe table both use.

The Kafka key decides ordering: one citizen's chat events share a partition (keyed by the pseudonym of
their Zalo user id, never the id itself), and a ZNS delivery receipt is keyed by the tracking id the
dispatcher chose, so every receipt for one message lands where that message's delivery status is kept.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from schemas.common import pseudonym
from schemas.zalo_event import ZaloEvent, ZaloServer

# Events where the OA is the sender and the citizen the recipient.
_TO_USER_PREFIXES = ("oa_", "user_received_", "user_seen_")


def _id(obj: Any, *path: str) -> str | None:
    for part in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(part)
    if isinstance(obj, bool) or obj is None:
        return None
    text = str(obj).strip()
    return text[:128] or None


def event_identity(event_name: str, payload: dict[str, Any], raw_body: bytes) -> str:
    """The same string for every delivery of one Zalo call."""
    msg_id = _id(payload, "message", "msg_id")
    tracking = _id(payload, "message", "tracking_id")
    # A rating names the rated message, not itself: a citizen who rates the same message again submits later.
    submitted = _id(payload, "message", "submit_time")
    if msg_id:
        return f"{event_name}:{msg_id}" + (f":{tracking}" if tracking else "") + (f":{submitted}" if submitted else "")
    return f"{event_name}:h{hashlib.blake2b(raw_body, digest_size=16).hexdigest()}"


def user_and_oa(event_name: str, payload: dict[str, Any]) -> tuple[str | None, str | None]:
    """(Zalo user id, OA id) of an OA event, from whichever of sender / recipient / follower they are in."""
    if "follower" in payload:
        return _id(payload, "follower", "id"), _id(payload, "oa_id")
    if event_name.startswith(_TO_USER_PREFIXES):
        return _id(payload, "recipient", "id"), _id(payload, "sender", "id")
    return _id(payload, "sender", "id"), _id(payload, "recipient", "id") or _id(payload, "oa_id")


def build_event(
    payload: dict[str, Any], raw_body: bytes, *, zns: bool, variant: str, received_at: datetime
) -> ZaloEvent:
    """Wrap a verified payload (never rejects: Zalo would retry a refused call until it disables the hook)."""
    name = _id(payload, "event_name") or "unknown"
    name = name[:64]
    if zns:
        user, oa = None, _id(payload, "sender", "id") or _id(payload, "oa_id")
        tracking = _id(payload, "message", "tracking_id")
    else:
        (user, oa), tracking = user_and_oa(name, payload), None
    return ZaloEvent(
        event_id=event_identity(name, payload, raw_body),
        event_name=name,
        server=ZaloServer.ZNS if zns else ZaloServer.OA,
        zalo_user_id=user,
        oa_id=oa,
        tracking_id=tracking,
        received_at=received_at,
        signature_variant=variant,
        payload=payload,
    )


def record_key(event: ZaloEvent, pseudonym_key: str) -> bytes:
    """Kafka key: tracking id for ZNS receipts, the user's pseudonym for OA events, else the event id."""
    if event.server is ZaloServer.ZNS and event.tracking_id:
        return event.tracking_id.encode()
    if event.zalo_user_id:
        return pseudonym(pseudonym_key, "z", event.zalo_user_id).encode()
    return event.event_id.encode()
