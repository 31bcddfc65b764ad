"""Builders of valid records for tests: one place that knows a minimal valid dossier event."""

from __future__ import annotations

import copy
import uuid
from typing import Any

DOSSIER = "000.00.49.H22-261128-0001"


def event(
    status: str = "RECEIVED",
    *,
    sequence: int = 1,
    dossier: str = DOSSIER,
    recipients: list[dict[str, Any]] | None = None,
    event_id: str | None = None,
    **data: Any,
) -> dict[str, Any]:
    """A valid DossierEvent dict in ``status``; keyword arguments override payload fields."""
    dvcqg = {
        "RECEIVED": 2,
        "REJECTED_AT_INTAKE": 3,
        "TRANSFERRED": 4,
        "IN_PROCESS": 4,
        "SUPPLEMENT_REQUESTED": 5,
        "SUPPLEMENT_RECEIVED": 4,
        "PAYMENT_REQUESTED": 6,
        "PAID": 4,
        "DUE_DATE_EXTENDED": 4,
        "OVERDUE": 4,
        "WITHDRAWAL_REQUESTED": 7,
        "STOPPED": 8,
        "RESULT_READY": 9,
        "RESULT_RETURNED": 10,
        "SURVEY_INVITED": 10,
        "SURVEY_SUBMITTED": 10,
        "SUBMITTED": 1,
    }[status]
    payload: dict[str, Any] = {
        "ma_ho_so": dossier,
        "ma_tthc": "1.005129",
        "ten_tthc": "Cấp giấy phép xây dựng",
        "kenh_thuc_hien": 2,
        "trang_thai_dvcqg": dvcqg,
        "trang_thai": status,
        "trang_thai_label_vi": "Đã tiếp nhận hồ sơ",
        "don_vi_tiep_nhan": {"ma_dinh_danh": "000.00.49.H22", "ten": "Trung tâm Phục vụ hành chính công tỉnh"},
        "don_vi_xu_ly": {"ma_dinh_danh": "000.00.49.H22", "ten": "Sở Xây dựng Quảng Ninh"},
        "ma_dvhc": {"tinh": "22", "xa": "06652"},
        "ngay_hen_tra": "2026-12-05T17:00:00+07:00",
        "tra_cuu_url": "https://dichvucong.quangninh.gov.vn/tra-cuu?mhs=" + dossier,
        "nguoi_nhan_thong_bao": (
            recipients
            if recipients is not None
            else [{"ho_ten_hien_thi": "Nguyễn Thị Lan", "phone": "0912345678", "dong_y_zalo": True}]
        ),
    }
    if status in {"REJECTED_AT_INTAKE", "SUPPLEMENT_REQUESTED", "STOPPED", "WITHDRAWAL_REQUESTED", "DUE_DATE_EXTENDED"}:
        payload["ly_do"] = "Thiếu bản vẽ thiết kế có chữ ký"
    if status == "SUPPLEMENT_REQUESTED":
        payload["bo_sung"] = {"lan_thu": 1, "giay_to": [{"ten": "Bản vẽ thiết kế"}, {"ten": "Bản sao CCCD"}]}
    if status == "DUE_DATE_EXTENDED":
        payload["ngay_hen_tra_truoc"] = "2026-12-05T17:00:00+07:00"
        payload["gia_han"] = {"lan_thu": 1, "ngay_hen_tra_moi": "2026-12-12T17:00:00+07:00"}
    if status == "SURVEY_INVITED":
        payload["danh_gia_url"] = "https://dichvucong.quangninh.gov.vn/danh-gia?mhs=" + dossier
    if status == "PAYMENT_REQUESTED":
        payload["nghia_vu_tai_chinh"] = {"tong_tien_vnd": 150000}
    payload.update(copy.deepcopy(data))
    return {
        "event_id": event_id or str(uuid.uuid4()),
        "event_type": status,
        "schema_version": "1.0",
        "occurred_at": f"2026-11-28T09:{sequence % 60:02d}:00+07:00",
        "emitted_at": f"2026-11-28T09:{sequence % 60:02d}:05+07:00",
        "source_system": "000.00.49.H22",
        "sequence": sequence,
        "data": payload,
    }


def dossier_state(**changes: Any) -> Any:
    """A DossierState of ``DOSSIER`` awaiting a supplement (what chat answers are built from)."""
    from streams.dossier_state import DossierState

    base: dict[str, Any] = dict(
        ma_ho_so=DOSSIER,
        sequence=2,
        trang_thai="SUPPLEMENT_REQUESTED",
        trang_thai_label_vi="Cần bổ sung hồ sơ",
        trang_thai_dvcqg=5,
        ten_tthc="Cấp giấy phép xây dựng",
        don_vi_xu_ly="Sở Xây dựng Quảng Ninh",
        phong_ban="Phòng Quản lý xây dựng",
        ma_tinh="22",
        ma_xa=None,
        ngay_hen_tra="2026-12-05T17:00:00+07:00",
        giay_to_bo_sung=["Bản vẽ thiết kế", "Bản sao CCCD"],
        supplement_requests=1,
        extensions=0,
        updated_at="2026-11-28T09:02:00+07:00",
    )
    return DossierState(**{**base, **changes})


def phone_notice(
    tracking_id: str,
    *,
    subscriber_id: str = "sub-1",
    phone: str = "84912345678",
    name: str = "Lan",
    oa_id: str = "hoso-demo-oa",
    priority: Any = None,
    template_id: str = "hoso-received",
    template_data: dict[str, str] | None = None,
    text: str = "tin",
    dong_y_sms: bool | None = None,
) -> Any:
    """A valid dossier-status Notification to one person by phone (a ZBS template), created now, as the worker
    emits it for the dispatcher."""
    from schemas.common import now_vn
    from schemas.notification import Addressee, Kind, Notification, Priority, SendChannel

    return Notification(
        tracking_id=tracking_id,
        kind=Kind.DOSSIER_UPDATE,
        priority=Priority.DOSSIER if priority is None else priority,  # EMERGENCY is 0: never `or`
        created_at=now_vn(),
        occurred_at=now_vn(),
        oa_id=oa_id,
        channel=SendChannel.ZBS_PHONE,
        to=Addressee(subscriber_id=subscriber_id, phone=phone, ho_ten_hien_thi=name, dong_y_sms=dong_y_sms),
        template_id=template_id,
        template_data={"ten_nguoi_dan": name} if template_data is None else template_data,
        text=text,
    )
