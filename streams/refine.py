"""Fine statuses that only the dossier's history can show, for events derived from national payloads.

The gateway is stateless: from one ``DongBoHoSoMC`` item it can read a supplement round or a new appointment,
but not whether the citizen was already told about them, nor whether ``DonViXuLy`` changed. The streams hold the
dossier's state, so they settle it here, just before the event is applied:

- an in-process event whose handling agency differs from the stored one is a transfer (TRANSFERRED);
- an apology whose new date is already the dossier's appointment repeats an announced one: plain IN_PROCESS;
- a supplement taken in when none was outstanding repeats an announced one: plain IN_PROCESS.

Events an agency sends in our own format (its own ``event_type``) are never changed.
"""

from __future__ import annotations

from schemas.dossier_event import STATUS_LABEL_VI, DossierEvent, Status
from streams.dossier_state import DossierState

DERIVED_PREFIX = "dvcqg:"
"""``correlation_id`` prefix of events the gateway derived from national payloads (producers/dvcqg.py)."""


def refine(state: DossierState | None, event: DossierEvent) -> DossierEvent:
    """``event`` with its fine status settled against the dossier's state (unchanged when nothing applies)."""
    if state is None or not (event.correlation_id or "").startswith(DERIVED_PREFIX):
        return event
    d = event.data
    status = d.trang_thai
    if status is Status.IN_PROCESS and d.don_vi_xu_ly.ten != state.don_vi_xu_ly:
        return _as(event, Status.TRANSFERRED)
    new_date = d.gia_han.ngay_hen_tra_moi.isoformat() if d.gia_han is not None else None
    if status is Status.DUE_DATE_EXTENDED and state.extensions > 0 and state.ngay_hen_tra == new_date:
        return _as(event, Status.IN_PROCESS)
    if status is Status.SUPPLEMENT_RECEIVED and state.trang_thai != Status.SUPPLEMENT_REQUESTED.value:
        return _as(event, Status.IN_PROCESS)
    return event


def _as(event: DossierEvent, status: Status) -> DossierEvent:
    data = event.data.model_copy(update={"trang_thai": status, "trang_thai_label_vi": STATUS_LABEL_VI[status]})
    return event.model_copy(update={"event_type": status, "data": data})
