"""Vietnamese wording of a dossier update: the plain text and the ZNS template parameters.

Pure functions of the event, so wording can be reviewed and tested without Kafka or Zalo.
ZNS typed parameters have hard length limits (names 30, statuses 30, paragraphs 400 characters after NFC);
values are composed to NFC and shortened on a word boundary rather than rejected by Zalo at send time.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from schemas.broadcast import Broadcast
from schemas.common import VN_TZ
from schemas.dossier_event import DossierEvent, Status

# Short status wording for the ZNS "transaction status" parameter (at most 30 characters).
SHORT_STATUS: dict[Status, str] = {
    Status.SUBMITTED: "Đã nộp, chờ tiếp nhận",
    Status.RECEIVED: "Đã tiếp nhận",
    Status.REJECTED_AT_INTAKE: "Không được tiếp nhận",
    Status.TRANSFERRED: "Đã chuyển xử lý",
    Status.IN_PROCESS: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Cần bổ sung hồ sơ",
    Status.SUPPLEMENT_RECEIVED: "Đã nhận bổ sung",
    Status.PAYMENT_REQUESTED: "Cần nộp phí, lệ phí",
    Status.PAID: "Đã nộp phí, lệ phí",
    Status.DUE_DATE_EXTENDED: "Hẹn lại ngày trả kết quả",
    Status.OVERDUE: "Quá hạn xử lý",
    Status.WITHDRAWAL_REQUESTED: "Yêu cầu rút hồ sơ",
    Status.STOPPED: "Dừng giải quyết",
    Status.RESULT_READY: "Đã có kết quả",
    Status.RESULT_RETURNED: "Đã trả kết quả",
    Status.SURVEY_INVITED: "Mời đánh giá hài lòng",
    Status.SURVEY_SUBMITTED: "Đã đánh giá",
}

LIMITS = {
    "ten_nguoi_dan": 30,
    "ma_ho_so": 50,
    "trang_thai": 30,
    "don_vi": 200,
    "ngay_hen_tra": 30,
    "noi_dung": 400,
}


def fit(value: str, limit: int) -> str:
    """NFC, trimmed, and at most ``limit`` characters, cut at a word boundary with an ellipsis."""
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def vn_date(value: datetime | None) -> str:
    """dd/MM/yyyy in Vietnam time, the way dates are written on a phiếu hẹn."""
    return value.astimezone(VN_TZ).strftime("%d/%m/%Y") if value else "chưa có"


def _vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đồng"


def detail(event: DossierEvent) -> str:
    """The sentence that says what the citizen must know or do for this status."""
    d = event.data
    s = d.trang_thai
    if s is Status.RECEIVED:
        return f"Hồ sơ đã được tiếp nhận. Ngày hẹn trả kết quả: {vn_date(d.ngay_hen_tra)}."
    if s is Status.TRANSFERRED:
        return f"Hồ sơ đã được chuyển đến {d.don_vi_xu_ly.ten} để xử lý."
    if s is Status.IN_PROCESS:
        return f"Hồ sơ đang được {d.don_vi_xu_ly.ten} xử lý."
    if s is Status.SUPPLEMENT_REQUESTED and d.bo_sung:
        items = "; ".join(g.ten for g in d.bo_sung.giay_to)
        due = f" Hạn bổ sung: {vn_date(d.bo_sung.han_bo_sung)}." if d.bo_sung.han_bo_sung else ""
        return f"Cần bổ sung: {items}. Lý do: {d.ly_do}.{due}"
    if s is Status.SUPPLEMENT_RECEIVED:
        return "Hồ sơ bổ sung đã được tiếp nhận và tiếp tục xử lý."
    if s is Status.PAYMENT_REQUESTED and d.nghia_vu_tai_chinh:
        p = d.nghia_vu_tai_chinh
        due = f", hạn nộp {vn_date(p.han_nop)}" if p.han_nop else ""
        return f"Vui lòng nộp {_vnd(p.tong_tien_vnd)}{due}."
    if s is Status.PAID:
        return "Đã ghi nhận việc nộp phí, lệ phí."
    if s is Status.DUE_DATE_EXTENDED and d.gia_han:
        return (
            f"Cơ quan xin lỗi vì chậm trả kết quả. Ngày hẹn cũ: {vn_date(d.ngay_hen_tra_truoc)}; "
            f"ngày hẹn mới: {vn_date(d.gia_han.ngay_hen_tra_moi)}. Lý do: {d.ly_do}."
        )
    if s in (Status.REJECTED_AT_INTAKE, Status.STOPPED, Status.WITHDRAWAL_REQUESTED):
        return f"Lý do: {d.ly_do}."
    if s is Status.RESULT_READY:
        what = d.ket_qua.ten_giay_to if d.ket_qua else "Kết quả"
        return f"{what} đã sẵn sàng. Mời ông/bà nhận kết quả tại {d.don_vi_tiep_nhan.ten}."
    if s is Status.RESULT_RETURNED:
        return "Kết quả đã được trả. Cảm ơn ông/bà đã sử dụng dịch vụ."
    if s is Status.SURVEY_INVITED:
        link = f" tại {d.danh_gia_url}" if d.danh_gia_url else ""
        return (
            f"Mời ông/bà đánh giá mức độ hài lòng{link}, hoặc trả lời tin nhắn này: "
            "1 (Không hài lòng), 2 (Hài lòng) hoặc 3 (Rất hài lòng)."
        )
    return d.trang_thai_label_vi


def values(event: DossierEvent, name: str | None) -> dict[str, str]:
    """Every value a template parameter may take (the catalogue maps parameter names onto these)."""
    d = event.data
    return {
        "ten_nguoi_dan": name or "Ông/Bà",
        "ma_ho_so": d.ma_ho_so,
        "trang_thai": SHORT_STATUS[d.trang_thai],
        "don_vi": d.don_vi_xu_ly.ten,
        "ngay_hen_tra": vn_date(d.gia_han.ngay_hen_tra_moi if d.gia_han else d.ngay_hen_tra),
        "noi_dung": d.noi_dung_hien_thi or detail(event),
    }


def template_data(event: DossierEvent, name: str | None) -> dict[str, str]:
    """ZNS parameters of the standard dossier-update template, each within its typed limit."""
    return {k: fit(v, LIMITS[k]) for k, v in values(event, name).items()}


def alert_values(broadcast: Broadcast, name: str | None) -> dict[str, str]:
    """Values for an area-alert template: the alert text is the content paragraph."""
    return {
        "ten_nguoi_dan": name or "Ông/Bà",
        "ma_ho_so": "",
        "trang_thai": "Cảnh báo khẩn cấp",
        "don_vi": broadcast.issued_by,
        "ngay_hen_tra": vn_date(broadcast.issued_at),
        "noi_dung": broadcast.text,
    }


def text(event: DossierEvent, name: str | None) -> str:
    """The whole message as plain Vietnamese text (OA replies, logs, the demo's printout)."""
    d = event.data
    lines = [
        f"Kính gửi {name or 'Ông/Bà'},",
        f"Hồ sơ {d.ma_ho_so} ({d.ten_tthc}): {d.trang_thai_label_vi}.",
        d.noi_dung_hien_thi or detail(event),
        f"Đơn vị đang xử lý: {d.don_vi_xu_ly.ten}.",
        f"Tra cứu: {d.tra_cuu_url}",
    ]
    return fit("\n".join(lines).replace("\n", " \n "), 2000).replace(" \n ", "\n")
