"""ZaloEvent: one webhook call from Zalo, verified and wrapped, as it travels on ``zalo-events.v1``.

The receiver keeps Zalo's payload unchanged (``payload``) and adds what every consumer needs without
re-parsing it: a stable identity for deduplication (Zalo retries the same call), which server sent it
(OA chat or ZNS receipts), the user it concerns and the signature variant that matched.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from schemas.common import VnDateTime

ShortId = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class ZaloServer(StrEnum):
    """Which Zalo service posted the event (``X-ZEvent-Server: ZNS`` marks ZBS/ZNS events)."""

    OA = "OA"
    ZNS = "ZNS"


class ZaloEvent(BaseModel):
    """A verified webhook event. ``event_id`` is the same for every retry of one Zalo call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: Annotated[str, StringConstraints(min_length=1, max_length=330)]
    event_name: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    server: ZaloServer
    zalo_user_id: ShortId | None = None
    oa_id: ShortId | None = None
    tracking_id: ShortId | None = None
    received_at: VnDateTime
    signature_variant: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    payload: dict[str, Any]
