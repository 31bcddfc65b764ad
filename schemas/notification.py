"""Notification: one message for one person, fully rendered, ready for the dispatcher to send to Zalo."""

from __future__ import annotations

import hashlib
from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.common import Name30, VnDateTime
from schemas.dossier_event import DossierCode, Status


class Kind(StrEnum):
    """Why the message exists; decides its priority lane."""

    ALERT = "ALERT"
    DOSSIER_UPDATE = "DOSSIER_UPDATE"
    REPLY = "REPLY"
    SURVEY = "SURVEY"
    POLICY = "POLICY"
    """Policy news from an authority to OA followers of an area (never texted by SMS)."""


class ComplianceFlag(StrEnum):
    """A one-time legal step that happened again: the law allows one supplement request and one extension."""

    SECOND_SUPPLEMENT_REQUEST = "SECOND_SUPPLEMENT_REQUEST"
    SECOND_EXTENSION = "SECOND_EXTENSION"


class Priority(IntEnum):
    """Lower goes first: emergency alerts before dossier updates before survey invitations before news."""

    EMERGENCY = 0
    DOSSIER = 1
    SURVEY = 2
    POLICY = 3


class SendChannel(StrEnum):
    """Which Zalo API carries it: an approved template by phone, or OA consultation text by user id."""

    ZBS_PHONE = "ZBS_PHONE"
    OA_TEXT = "OA_TEXT"


class Addressee(BaseModel):
    """Where the message goes; ``subscriber_id`` is the pseudonymous key used in logs and partitioning."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    subscriber_id: Annotated[str, StringConstraints(min_length=3, max_length=64)]
    phone: Annotated[str, StringConstraints(pattern=r"^84[35789]\d{8}$")] | None = None
    zalo_user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    ho_ten_hien_thi: Name30 | None = None
    dong_y_sms: bool | None = None
    """True only when the person consented to an SMS if Zalo cannot reach them (the SMS fallback's gate)."""


TrackingId = Annotated[str, StringConstraints(min_length=1, max_length=48, pattern=r"^[A-Za-z0-9_-]+$")]


class Notification(BaseModel):
    """A rendered message; ``tracking_id`` is deterministic so a re-emitted copy is recognisably the same."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_id: TrackingId
    kind: Kind
    priority: Priority
    created_at: VnDateTime
    occurred_at: VnDateTime
    oa_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    channel: SendChannel
    to: Addressee
    template_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    template_data: dict[str, str] = Field(default_factory=dict)
    text: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    ma_ho_so: DossierCode | None = None
    event_id: str | None = None
    trang_thai: Status | None = None
    flags: list[ComplianceFlag] = Field(default_factory=list)
    """Rules the underlying event breaks (for agency dashboards; the citizen's message is unchanged)."""
    broadcast_id: Annotated[str, StringConstraints(max_length=64)] | None = None

    @property
    def key(self) -> str:
        """Kafka key: one recipient's messages share a partition, so they are sent in order."""
        return self.to.subscriber_id


def tracking_id_for(event_id: str, subscriber_id: str) -> str:
    """The tracking id of the message about ``event_id`` for ``subscriber_id``: 32 hex characters.

    Zalo echoes it in delivery receipts and allows at most 48 characters without punctuation; being a pure
    function of its inputs, any re-processing of the same event yields the same id.
    """
    return hashlib.blake2b(f"{event_id}|{subscriber_id}".encode(), digest_size=16).hexdigest()
