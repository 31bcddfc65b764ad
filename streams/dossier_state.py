"""Per-dossier state and the rule that decides whether an event is new, a duplicate or stale.

Agencies retry, replay and sometimes reorder; a citizen must be told each real change exactly once.
Events carry a per-dossier ``sequence``: only an event beyond the last applied one changes anything.
``event_id`` tells a harmless redelivery (duplicate) from an out-of-order one (stale) for the counters.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from schemas.dossier_event import DossierEvent, Status
from schemas.notification import ComplianceFlag

SEEN_IDS_KEPT = 16


class Verdict(StrEnum):
    """What to do with an incoming event."""

    APPLY = "applied"
    DUPLICATE = "duplicate"
    STALE = "stale"


@dataclass
class DossierState:
    """What the system knows about one dossier: enough to order events and answer a citizen's lookup."""

    ma_ho_so: str
    sequence: int
    trang_thai: str
    trang_thai_label_vi: str
    trang_thai_dvcqg: int
    ten_tthc: str
    don_vi_xu_ly: str
    phong_ban: str | None
    ma_tinh: str
    ma_xa: str | None
    ngay_hen_tra: str | None
    giay_to_bo_sung: list[str]
    supplement_requests: int
    extensions: int
    updated_at: str
    seen: list[str] = field(default_factory=list)
    source_system: str = "unknown"
    overdue_since: str | None = None
    """Set when the appointment date passed with processing unfinished (the internal OVERDUE state)."""
    last_low_value_at: str | None = None
    """occurred_at of the last announced IN_PROCESS / TRANSFERRED event (the throttle's reference)."""
    survey_invited: bool = False
    """A survey invitation went out (ours or the agency's); there is only one per dossier."""
    ma_tthc: str | None = None
    kenh_thuc_hien: int | None = None
    """Procedure code and channel, kept so that a partial event (a progress step) can be completed."""
    xac_thuc_hash: str | None = None
    """The agency's keyed hash of the ID document's last digits (proof of ownership in chat), latest given."""
    survey_invited_at: str | None = None
    """When the survey invitation went out (processing time): answers are taken until its life ends."""

    def flags_for(self, event: DossierEvent) -> list[ComplianceFlag]:
        """One-time steps this (just applied) event repeats: a second supplement request or extension."""
        d = event.data
        flags = []
        if d.trang_thai is Status.SUPPLEMENT_REQUESTED and (
            self.supplement_requests > 1 or (d.bo_sung is not None and d.bo_sung.lan_thu > 1)
        ):
            flags.append(ComplianceFlag.SECOND_SUPPLEMENT_REQUEST)
        if d.trang_thai is Status.DUE_DATE_EXTENDED and (
            self.extensions > 1 or (d.gia_han is not None and d.gia_han.lan_thu > 1)
        ):
            flags.append(ComplianceFlag.SECOND_EXTENSION)
        return flags

    def to_bytes(self) -> bytes:
        """Serialised form stored in the Faust table."""
        return orjson.dumps(asdict(self))

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> DossierState | None:
        """Inverse of ``to_bytes``; None for an absent key."""
        if raw is None:
            return None
        data: dict[str, Any] = orjson.loads(raw)
        return cls(**data)


def judge(state: DossierState | None, event: DossierEvent) -> Verdict:
    """Decide whether ``event`` advances the dossier."""
    if state is None or event.sequence > state.sequence:
        return Verdict.APPLY
    if str(event.event_id) in state.seen:
        return Verdict.DUPLICATE
    return Verdict.STALE


def advance(state: DossierState | None, event: DossierEvent) -> DossierState:
    """The state after applying ``event`` (which ``judge`` accepted)."""
    d = event.data
    supplements = state.supplement_requests if state else 0
    extensions = state.extensions if state else 0
    missing = state.giay_to_bo_sung if state else []
    if d.trang_thai is Status.SUPPLEMENT_REQUESTED:
        supplements += 1
        missing = [g.ten for g in d.bo_sung.giay_to] if d.bo_sung else []
    elif d.trang_thai is Status.SUPPLEMENT_RECEIVED:
        missing = []
    if d.trang_thai is Status.DUE_DATE_EXTENDED:
        extensions += 1
    due = d.gia_han.ngay_hen_tra_moi if d.gia_han else d.ngay_hen_tra
    seen = ([*state.seen, str(event.event_id)] if state else [str(event.event_id)])[-SEEN_IDS_KEPT:]
    return DossierState(
        ma_ho_so=d.ma_ho_so,
        sequence=event.sequence,
        trang_thai=d.trang_thai.value,
        trang_thai_label_vi=d.trang_thai_label_vi,
        trang_thai_dvcqg=d.trang_thai_dvcqg,
        ten_tthc=d.ten_tthc or (state.ten_tthc if state else ""),
        don_vi_xu_ly=d.don_vi_xu_ly.ten or (state.don_vi_xu_ly if state else ""),
        phong_ban=d.don_vi_xu_ly.phong_ban,
        ma_tinh=d.ma_dvhc.tinh,
        ma_xa=d.ma_dvhc.xa,
        ngay_hen_tra=due.isoformat() if due else None,
        giay_to_bo_sung=missing,
        supplement_requests=supplements,
        extensions=extensions,
        updated_at=event.occurred_at.isoformat(),
        seen=seen,
        source_system=event.source_system,
        # A new appointment date restarts the clock; otherwise an overdue dossier stays overdue.
        overdue_since=None if d.trang_thai is Status.DUE_DATE_EXTENDED or state is None else state.overdue_since,
        last_low_value_at=state.last_low_value_at if state else None,
        survey_invited=state.survey_invited if state else False,
        survey_invited_at=state.survey_invited_at if state else None,
        ma_tthc=d.ma_tthc or (state.ma_tthc if state else None),
        kenh_thuc_hien=int(d.kenh_thuc_hien) if d.kenh_thuc_hien else (state.kenh_thuc_hien if state else None),
        xac_thuc_hash=d.xac_thuc_hash or (state.xac_thuc_hash if state else None),
    )


def overdue(state: DossierState, now: datetime, finished: frozenset[Status]) -> DossierState | None:
    """The state with OVERDUE raised if its appointment date passed unfinished and it was not raised yet."""
    if state.overdue_since or not state.ngay_hen_tra or Status(state.trang_thai) in finished:
        return None
    if datetime.fromisoformat(state.ngay_hen_tra) >= now:
        return None
    return replace(state, overdue_since=now.isoformat())
