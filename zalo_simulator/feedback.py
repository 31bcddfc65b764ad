"""A citizen rating a ZBS template message: the ``user_feedback`` event posted to the client's webhook.

Zalo lets the recipient of a rating template give stars, tick comment chips and add a note, then tells the
OA's webhook. The event's name and fields are not in the project's Zalo notes (they only say ZBS events
include "rating or quick-reply responses"), so the shape here is modelled on the documented ZBS delivery
receipt (``sender``/``recipient``, ``message.msg_id``/``tracking_id``, string ids, millisecond timestamps,
header ``X-ZEvent-Server: ZNS``, the same signature) with the rating fields ``rate`` (1–5), ``note``,
``feedbacks`` and ``submit_time``. Tests drive it through ``POST /_sim/rate`` or ``Simulator.rate``.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson

from zalo_simulator.config import OAConfig

EVENT_NAME = "user_feedback"


@dataclass(frozen=True, slots=True)
class Rating:
    """What the simulated citizen gave: stars, the chips ticked, a free-text note."""

    rate: int
    note: str = ""
    feedbacks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if isinstance(self.rate, bool) or not isinstance(self.rate, int) or not 1 <= self.rate <= 5:
            raise ValueError("rate must be an integer from 1 to 5 (stars)")


def build_feedback(
    oa: OAConfig,
    recipient: str,
    msg_id: str,
    tracking_id: str | None,
    rating: Rating,
    submit_ms: int,
    timestamp_ms: int,
) -> bytes:
    """Serialised ``user_feedback`` event for one rated ZBS message."""
    return orjson.dumps(
        {
            "sender": {"id": oa.oa_id},
            "recipient": {"id": recipient},
            "event_name": EVENT_NAME,
            "message": {
                "msg_id": msg_id,
                "tracking_id": tracking_id or "",
                "rate": rating.rate,
                "note": rating.note,
                "feedbacks": list(rating.feedbacks),
                "submit_time": str(submit_ms),
            },
            "app_id": oa.app_id,
            "oa_id": oa.oa_id,
            "timestamp": str(timestamp_ms),
        }
    )
