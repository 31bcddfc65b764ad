"""Requests the chat flow passes between partitions: per dossier, and per citizen.

A chat event is keyed by the citizen; a dossier's state and followers live in the partition of its code.
So the chat flow does not read dossier tables itself: it re-keys a ``DossierCommand`` by dossier code
(``dossier-commands.v1``) and, for a citizen's other identities, a ``CitizenCommand`` by subscriber id
(``citizen-commands.v1``); every table read or write then happens on the worker that owns the key.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.common import Text1000, VnDateTime
from schemas.dossier_event import DossierCode

SubscriberId = Annotated[str, StringConstraints(min_length=3, max_length=64)]
ZaloUserId = Annotated[str, StringConstraints(min_length=1, max_length=64)]
CommandId = Annotated[str, StringConstraints(min_length=1, max_length=400)]


class DossierAction(StrEnum):
    """What a citizen asked about one dossier."""

    FOLLOW = "FOLLOW"
    LOOKUP = "LOOKUP"
    UNFOLLOW = "UNFOLLOW"
    PROVE = "PROVE"
    """Prove the dossier is the requester's: without ``secret``, send a one-time code to its registered phone;
    with one, check it (one-time code, or the last digits of the ID document against the agency's hash)."""
    RATE = "RATE"


class DossierCommand(BaseModel):
    """One request about one dossier, keyed by ``ma_ho_so``.

    ``subscriber_ids`` are the identities acted on (a chat user and, once linked, their phone's
    pseudonym); ``reply_to`` is the Zalo user who gets the answer, or None for a silent fan-out step.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    action: DossierAction
    ma_ho_so: DossierCode
    subscriber_ids: list[SubscriberId] = Field(default_factory=list)
    reply_to: ZaloUserId | None = None
    reply_subscriber_id: SubscriberId | None = None
    oa_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    requested_at: VnDateTime
    linked_ids: list[SubscriberId] = Field(default_factory=list)
    """Identities the requester has proven are theirs (a phone confirmed by a one-time code): a follower
    entry of any of them at the full level lets the requester see full details."""
    secret: Annotated[str, StringConstraints(pattern=r"^\d{4,12}$")] | None = None
    """For PROVE: the one-time code or the last digits of the ID document, as typed."""
    may_wait: bool = True
    """For FOLLOW: False when the requester already waits on as many unsynced dossiers as allowed."""
    pending_since: VnDateTime | None = None
    """For FOLLOW: set when the join confirms a follow recorded before the dossier's first sync."""
    muc_do: int | None = Field(default=None, ge=1, le=3)
    """RATE only: the satisfaction level answered (1 Không hài lòng, 2 Hài lòng, 3 Rất hài lòng)."""
    noi_dung: Text1000 | None = None
    """RATE only: the citizen's words after the answer."""


class CitizenAction(StrEnum):
    """What the citizen-keyed flow does for one identity."""

    INDEX_ADD = "INDEX_ADD"
    UNFOLLOW_ALL = "UNFOLLOW_ALL"
    PENDING_ADD = "PENDING_ADD"
    """The Zalo user now waits for this dossier's first sync (counted against their bound)."""
    PENDING_DONE = "PENDING_DONE"
    """The dossier arrived and the waiting follow became a follow."""
    LINK_PHONE = "LINK_PHONE"
    """A Zalo user proved (by a one-time code sent to it) that a phone is theirs: "HUY" then stops it too."""


class CitizenCommand(BaseModel):
    """One request about one identity, keyed by ``subscriber_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    action: CitizenAction
    subscriber_id: SubscriberId
    ma_ho_so: DossierCode | None = None
    oa_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    requested_at: VnDateTime
    linked_id: SubscriberId | None = None
    """For LINK_PHONE: the pseudonym of the proven phone."""
