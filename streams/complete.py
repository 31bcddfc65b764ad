"""Partial events (a national ``CapNhatTienDoHoSoMC`` step) completed from the dossier's stored state.

A progress step names the dossier, who handles it and by when, and nothing else: the procedure, channel, handling
agency and appointment were sent earlier with ``DongBoHoSoMC``. The gateway is stateless, so it publishes the step
as it came (``partial``); the streams, which keep each dossier's state, fill in the rest here before any rule or
template sees the event. Recipients need no filling: who follows a dossier is in the followers table already.
"""

from __future__ import annotations

from datetime import datetime

from schemas.dossier_event import Channel, DossierEvent
from streams.dossier_state import DossierState


def complete(state: DossierState, event: DossierEvent, sequence: int | None = None) -> DossierEvent:
    """``event`` with what it leaves out taken from ``state`` (and, if given, a new ``sequence``)."""
    d = event.data
    agency = d.don_vi_xu_ly
    if agency.ten is None:
        agency = agency.model_copy(update={"ten": state.don_vi_xu_ly, "phong_ban": agency.phong_ban or state.phong_ban})
    data = d.model_copy(
        update={
            "ma_tthc": d.ma_tthc or state.ma_tthc or "",
            "ten_tthc": d.ten_tthc or state.ten_tthc,
            "kenh_thuc_hien": d.kenh_thuc_hien or (Channel(state.kenh_thuc_hien) if state.kenh_thuc_hien else None),
            "don_vi_xu_ly": agency,
            "ngay_hen_tra": d.ngay_hen_tra
            or (datetime.fromisoformat(state.ngay_hen_tra) if state.ngay_hen_tra else None),
        }
    )
    update: dict[str, object] = {"data": data, "partial": None}
    if sequence is not None:
        update["sequence"] = sequence
    return event.model_copy(update=update)
