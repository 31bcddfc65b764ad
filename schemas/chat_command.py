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
    muc_do: int | None = Field(default=None, ge=1, le=3)
    """RATE only: the satisfaction level answered (1 Không hài lòng, 2 Hài lòng, 3 Rất hài lòng)."""
    noi_dung: Text1000 | None = None
    """RATE only: the citizen's words after the answer."""


class CitizenAction(StrEnum):
    """What the citizen-keyed flow does for one identity."""

    INDEX_ADD = "INDEX_ADD"
    UNFOLLOW_ALL = "UNFOLLOW_ALL"


class CitizenCommand(BaseModel):
    """One request about one identity, keyed by ``subscriber_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: CommandId
    action: CitizenAction
    subscriber_id: SubscriberId
    ma_ho_so: DossierCode | None = None
    oa_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    requested_at: VnDateTime
