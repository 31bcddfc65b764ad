"""Rating: one citizen's satisfaction with how one dossier was handled, and its national sync form.

The scale is the national three levels (Không hài lòng / Hài lòng / Rất hài lòng). A citizen has one
rating per dossier; a later answer replaces the earlier one, so the ratings topic is keyed and compacted
on ``ma_ho_so|subscriber_id`` (one citizen's answers about one dossier stay in order).
``danh_gia_hai_long`` is what the agency's system receives, in the field names of the one-stop systems'
``DanhGiaHaiLong`` entity, so QĐ 31/2021's duty to sync survey data to the national portal can be met from it.
"""

from __future__ import annotations

import hashlib
from enum import IntEnum, StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from schemas.common import VN_TZ, Text1000, VnDateTime
from schemas.dossier_event import AgencyCode, DossierCode
from schemas.notification import TrackingId


class RatingLevel(IntEnum):
    """The three national satisfaction levels; the value is ``DanhGia``."""

    KHONG_HAI_LONG = 1
    HAI_LONG = 2
    RAT_HAI_LONG = 3


RATING_LABEL_VI: dict[RatingLevel, str] = {
    RatingLevel.KHONG_HAI_LONG: "Không hài lòng",
    RatingLevel.HAI_LONG: "Hài lòng",
    RatingLevel.RAT_HAI_LONG: "Rất hài lòng",
}


class RatingChannel(StrEnum):
    """Where the citizen answered: typed in the OA chat, or the ZBS rating template's callback."""

    ZALO_CHAT = "ZALO_CHAT"
    ZBS_RATING = "ZBS_RATING"


class Rating(BaseModel):
    """One citizen's current rating of one dossier."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ma_ho_so: DossierCode
    subscriber_id: Annotated[str, StringConstraints(min_length=3, max_length=64)]
    agency: AgencyCode
    """The dossier's ``source_system``: the one-stop system that published it, and syncs it nationally."""
    muc_do: RatingLevel
    noi_dung: Text1000 | None = None
    channel: RatingChannel
    rated_at: VnDateTime
    oa_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    answer_id: Annotated[str, StringConstraints(min_length=1, max_length=400)]
    """Id of the citizen's answer (from the Zalo message id): the same answer re-processed is the same version."""

    @property
    def key(self) -> str:
        """Compaction key: one live rating per dossier and citizen."""
        return f"{self.ma_ho_so}|{self.subscriber_id}"

    @property
    def sync_id(self) -> str:
        """Id of this version of the rating (32 hex): each answer is posted to the agency exactly once.

        Derived from the answer, not the time it was processed, so a chat message re-read after a worker
        crash yields the same id and the sync-log recognises it.
        """
        raw = f"{self.key}|{self.answer_id}"
        return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


class RatingInvite(BaseModel):
    """A survey invitation sent as a ZBS template: what a rating through that template's callback is about.

    Zalo's rating callback names only the message (``tracking_id``, ``msg_id``); tracking ids are hashes, so
    the dossier and citizen they stand for are recorded here when the invitation is made, keyed by the
    tracking id the dispatcher sends and Zalo echoes back.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    tracking_id: TrackingId
    ma_ho_so: DossierCode
    subscriber_id: Annotated[str, StringConstraints(min_length=3, max_length=64)]
    agency: AgencyCode
    oa_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    invited_at: VnDateTime


def danh_gia_hai_long(rating: Rating, loai_danh_gia: str = "1") -> dict[str, str | int]:
    """The record posted to the agency: ``DanhGiaHaiLong`` field names, DVCQG's ``yyyyMMddHHmmss`` time.

    ``NguoiDanhGia`` is the pseudonymous subscriber id (the agency knows the citizen from the dossier; hoso
    does not re-identify them). ``LoaiDanhGia`` is per agency (default "1": per-dossier 3-level rating).
    """
    return {
        "MaHoSo": rating.ma_ho_so,
        "LoaiDanhGia": loai_danh_gia,
        "NguoiDanhGia": rating.subscriber_id,
        "ThoiGianDanhGia": rating.rated_at.astimezone(VN_TZ).strftime("%Y%m%d%H%M%S"),
        "DanhGia": int(rating.muc_do),
        "NoiDungDanhGia": rating.noi_dung or RATING_LABEL_VI[rating.muc_do],
    }
