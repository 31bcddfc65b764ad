"""Subscription: one person following one dossier on Zalo, by phone (ZBS) or by Zalo user id (OA chat)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from schemas.common import Name30, Phone, VnDateTime
from schemas.dossier_event import DossierCode


class SubscriptionSource(StrEnum):
    """Who recorded the consent: the agency at intake, or the citizen by chat."""

    AGENCY_CONSENT = "AGENCY_CONSENT"
    CHAT = "CHAT"


class Disclosure(StrEnum):
    """How much a follower is told: everything (owner, proven follower, consented phone) or what a public
    look-up by code shows (status, handling agency, appointment date)."""

    FULL = "FULL"
    PUBLIC = "PUBLIC"


class Subscription(BaseModel):
    """A follower of a dossier. ``active`` False is a withdrawal; it removes the follower from the table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ma_ho_so: DossierCode
    subscriber_id: Annotated[str, StringConstraints(min_length=3, max_length=64)]
    ho_ten_hien_thi: Name30 | None = None
    phone: Phone | None = None
    zalo_user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    source: SubscriptionSource
    dong_y_sms: bool | None = None
    """Consent to the SMS fallback, from the agency's record (None: not given; chat never gives it)."""
    active: bool = True
    updated_at: VnDateTime
    disclosure: Disclosure | None = None
    """None: FULL for agency consent, PUBLIC for chat (a chat follow proves nothing by itself)."""
