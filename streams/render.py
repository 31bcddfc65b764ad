"""Vietnamese wording of a dossier update: the OA text and the ZBS template parameters.

Pure functions of the event, so wording can be reviewed (docs/messages.md is generated from them) and tested
without Kafka or Zalo. The register is the one agencies use (§9 of the e-government notes): the reader is
"Ông/Bà", each fact is said once, subject first, requests are "Đề nghị Ông/Bà …", apologies name the agency,
the closing is "Trân trọng cảm ơn Ông/Bà.".

OA text messages keep one fact per line (a phone screen shows a run-on paragraph badly). ZBS typed parameters
have hard length limits (names 30, statuses 30, paragraphs 400 characters after NFC) and are single
paragraphs; values are composed to NFC and shortened on a word boundary rather than rejected by Zalo.

Two levels of disclosure: owners, proven followers and consented phones get ``text`` (name, procedure,
reasons, documents, amounts); a follower who has not proven the dossier is theirs gets ``public_text``, which
says only what a public look-up by code says: status, handling agency, appointment date.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime

from schemas.broadcast import Broadcast
from schemas.common import VN_TZ
from schemas.dossier_event import DossierEvent, ResultDelivery, Status

# Short status wording for the ZBS "transaction status" parameter (at most 30 characters).
SHORT_STATUS: dict[Status, str] = {
    Status.SUBMITTED: "Đã nộp, chờ tiếp nhận",
    Status.RECEIVED: "Đã tiếp nhận",
    Status.REJECTED_AT_INTAKE: "Không được tiếp nhận",
    Status.TRANSFERRED: "Đã chuyển xử lý",
    Status.IN_PROCESS: "Đang giải quyết",
    Status.SUPPLEMENT_REQUESTED: "Cần bổ sung hồ sơ",
    Status.SUPPLEMENT_RECEIVED: "Đã nhận hồ sơ bổ sung",
    Status.PAYMENT_REQUESTED: "Cần nộp phí, lệ phí",
    Status.PAID: "Đã nộp phí, lệ phí",
    Status.DUE_DATE_EXTENDED: "Hẹn lại ngày trả kết quả",
    Status.OVERDUE: "Quá hạn giải quyết",
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
    "otp": 10,
}
MAX_TEXT = 2000
"""Characters of an OA consultation message."""
READER = "Ông/Bà"
CLOSING = "Trân trọng cảm ơn Ông/Bà."


def fit(value: str, limit: int) -> str:
    """NFC, one line, trimmed, and at most ``limit`` characters, cut at a word boundary with an ellipsis."""
    value = " ".join(unicodedata.normalize("NFC", value).split())
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.") + "…"


def fit_lines(lines: list[str], limit: int = MAX_TEXT) -> str:
    """Lines joined by line breaks, each line NFC and single-spaced, whole lines dropped past ``limit``.

    A very long line (an agency's thousand-character reason) is shortened on its own so the lines after it
    (agency, look-up link, closing) still fit.
    """
    kept: list[str] = []
    size = -1
    for line in lines:
        line = fit(line, min(limit, 600))
        if not line:
            continue
        if size + 1 + len(line) > limit:
            break
        kept.append(line)
        size += 1 + len(line)
    return "\n".join(kept)


def vn_date(value: datetime | None) -> str:
    """dd/MM/yyyy in Vietnam time, the way dates are written on a phiếu hẹn."""
    return value.astimezone(VN_TZ).strftime("%d/%m/%Y") if value else "chưa có"


def vn_time(value: datetime) -> str:
    """``09:02 ngày 29/11/2026`` (§9: "Cập nhật lúc 09:02 ngày 29/11/2026")."""
    local = value.astimezone(VN_TZ)
    return f"{local:%H:%M} ngày {local:%d/%m/%Y}"


def vnd(amount: int) -> str:
    """``150.000 đồng``."""
    return f"{amount:,}".replace(",", ".") + " đồng"


def _handler(event: DossierEvent) -> str:
    """The handling agency, with the department a progress step named (``PhongBanXuLy``)."""
    agency = event.data.don_vi_xu_ly
    return f"{agency.ten} ({agency.phong_ban})" if agency.phong_ban else str(agency.ten)


def _step_due(event: DossierEvent) -> str:
    """The current step's deadline (``NgayKetThucTheoQuyDinh``), when a progress step gave one."""
    due = event.data.han_buoc_hien_tai
    return f"Hạn xử lý của bước này: {vn_date(due)}." if due else ""


def greeting(name: str | None) -> str:
    """``Kính gửi Ông/Bà Nguyễn Thị Lan,`` (or without a name)."""
    return f"Kính gửi {READER} {name}," if name else f"Kính gửi {READER},"


def dossier_ref(event: DossierEvent) -> str:
    """``Hồ sơ số <mã> (<thủ tục>)``: the subject of every notice's first fact."""
    d = event.data
    return f"Hồ sơ số {d.ma_ho_so} ({d.ten_tthc})"


def _appointment(event: DossierEvent) -> datetime | None:
    d = event.data
    return d.gia_han.ngay_hen_tra_moi if d.gia_han else d.ngay_hen_tra


def payment_lines(event: DossierEvent) -> list[str]:
    """The amount and deadline of fees due, and where to pay online, when the agency gave them."""
    p = event.data.nghia_vu_tai_chinh
    if p is None:
        return []
    due = f", hạn nộp {vn_date(p.han_nop)}" if p.han_nop else ""
    lines = [f"Đề nghị {READER} thực hiện nghĩa vụ tài chính (phí, lệ phí) số tiền {vnd(p.tong_tien_vnd)}{due}."]
    if p.link_thanh_toan:
        lines.append(f"Thanh toán trực tuyến tại: {p.link_thanh_toan}")
    return lines


def delivery_lines(event: DossierEvent, *, returned: bool) -> list[str]:
    """How the result reaches the citizen: at the counter, by post, or as an electronic download."""
    d = event.data
    form = d.ket_qua.hinh_thuc_nhan if d.ket_qua else ResultDelivery.TRUC_TIEP
    if form is ResultDelivery.BUU_CHINH:
        verb = "đã được gửi" if returned else "sẽ được gửi"
        return [f"Kết quả {verb} qua dịch vụ bưu chính công ích đến địa chỉ {READER} đã đăng ký."]
    if form is ResultDelivery.DIEN_TU:
        link = (d.ket_qua.link if d.ket_qua else None) or d.van_ban_url or d.tra_cuu_url
        return [f"Tải kết quả điện tử tại: {link}"]
    if returned:
        return []
    return [f"Mời {READER} nhận kết quả tại {d.don_vi_tiep_nhan.ten}."]


def facts(event: DossierEvent) -> list[str]:
    """What happened and what the citizen must know or do, one fact per line (full disclosure)."""
    d = event.data
    s = d.trang_thai
    ref = dossier_ref(event)
    due = f"Ngày hẹn trả kết quả: {vn_date(_appointment(event))}."
    reason = [f"Lý do: {d.ly_do}."] if d.ly_do else []
    if d.noi_dung_hien_thi and s is not Status.DUE_DATE_EXTENDED:
        return [f"{ref}: {d.trang_thai_label_vi}.", d.noi_dung_hien_thi]
    if s is Status.RECEIVED:
        return [f"{ref} đã được tiếp nhận.", due]
    if s is Status.REJECTED_AT_INTAKE:
        return [f"{ref} không được tiếp nhận.", *reason]
    if s is Status.TRANSFERRED:
        return [f"{ref} đã được chuyển đến {_handler(event)} để giải quyết.", due, _step_due(event)]
    if s is Status.IN_PROCESS:
        return [f"{ref} đang được {_handler(event)} giải quyết.", due, _step_due(event)]
    if s is Status.SUPPLEMENT_REQUESTED:
        lines = [f"{ref} cần được bổ sung, hoàn thiện."]
        if d.bo_sung:
            lines.append(f"Đề nghị {READER} bổ sung, hoàn thiện các giấy tờ sau:")
            lines += [f"- {g.ten}" for g in d.bo_sung.giay_to]
            if d.bo_sung.han_bo_sung:
                reason.append(f"Hạn bổ sung: {vn_date(d.bo_sung.han_bo_sung)}.")
        return lines + reason
    if s is Status.SUPPLEMENT_RECEIVED:
        return [f"{ref}: hồ sơ bổ sung đã được tiếp nhận và tiếp tục giải quyết.", due]
    if s is Status.PAYMENT_REQUESTED:
        return [f"{ref} cần thực hiện nghĩa vụ tài chính.", *payment_lines(event)]
    if s is Status.PAID:
        return [f"{ref}: đã ghi nhận {READER} hoàn thành nghĩa vụ tài chính (phí, lệ phí).", due]
    if s is Status.DUE_DATE_EXTENDED:
        old = vn_date(d.ngay_hen_tra_truoc)
        agency_text = d.noi_dung_hien_thi or ""
        lines = [] if "xin lỗi" in agency_text.lower() else [_apology(event)]
        if agency_text:
            lines.append(agency_text)
        return [*lines, *reason, f"Ngày hẹn trả kết quả cũ: {old}; ngày hẹn mới: {vn_date(_appointment(event))}."]
    if s is Status.WITHDRAWAL_REQUESTED:
        return [f"Đã ghi nhận yêu cầu rút {ref[0].lower()}{ref[1:]} của {READER}.", *reason]
    if s is Status.STOPPED:
        return [f"{ref} đã dừng giải quyết.", *reason]
    if s is Status.RESULT_READY:
        what = f": {d.ket_qua.ten_giay_to}" if d.ket_qua else ""
        return [f"{ref} đã có kết quả{what}.", *delivery_lines(event, returned=False), *payment_lines(event)]
    if s is Status.RESULT_RETURNED:
        return [f"{ref} đã được trả kết quả.", *delivery_lines(event, returned=True)]
    if s is Status.SURVEY_INVITED:
        link = d.danh_gia_url or d.tra_cuu_url
        return [
            f"Kính mời {READER} đánh giá mức độ hài lòng về việc giải quyết {ref[0].lower()}{ref[1:]} tại: {link}",
            f"{READER} cũng có thể trả lời tin nhắn này: 1 (Không hài lòng), 2 (Hài lòng) hoặc 3 (Rất hài lòng).",
        ]
    return [f"{ref}: {d.trang_thai_label_vi}."]


def _apology(event: DossierEvent) -> str:
    ref = dossier_ref(event)
    return (
        f"{event.data.don_vi_xu_ly.ten} thành thật xin lỗi {READER} vì {ref[0].lower()}{ref[1:]} "
        "chưa được giải quyết đúng hẹn."
    )


def detail(event: DossierEvent) -> str:
    """The facts as one paragraph (the ZBS ``noi_dung`` parameter), without the dossier reference line."""
    lines = facts(event)
    return " ".join(lines)


def text(event: DossierEvent, name: str | None) -> str:
    """The whole notice as an OA text message: greeting, facts one per line, agency, link, time, closing."""
    d = event.data
    said = facts(event)
    lines = [greeting(name), *said]
    if d.trang_thai is not Status.SURVEY_INVITED:
        if not any(d.don_vi_xu_ly.ten in line for line in said):  # each fact once (§9)
            lines.append(f"Cơ quan giải quyết: {d.don_vi_xu_ly.ten}.")
        lines.append(f"Tra cứu hồ sơ: {d.tra_cuu_url}")
    lines += [f"Cập nhật lúc {vn_time(event.occurred_at)}.", CLOSING]
    return fit_lines(lines)


def public_text(event: DossierEvent) -> str:
    """The notice for a follower who has not proven the dossier is theirs: what a public look-up shows.

    No name, procedure, reason, document list or amount: anyone who knows a code may have asked for it.
    """
    d = event.data
    lines = [
        f"Hồ sơ số {d.ma_ho_so} đã được cập nhật.",
        f"Tình trạng: {d.trang_thai_label_vi}.",
        f"Cơ quan giải quyết: {d.don_vi_xu_ly.ten}.",
        f"Ngày hẹn trả kết quả: {vn_date(_appointment(event))}.",
        f"Cập nhật lúc {vn_time(event.occurred_at)}.",
        f"Để nhận thông báo đầy đủ, chủ hồ sơ gửi: XN {d.ma_ho_so}",
    ]
    return fit_lines(lines)


def values(event: DossierEvent, name: str | None) -> dict[str, str]:
    """Every value a template parameter may take (the catalogue maps parameter names onto these)."""
    d = event.data
    return {
        "ten_nguoi_dan": name or READER,
        "ma_ho_so": d.ma_ho_so,
        "trang_thai": SHORT_STATUS[d.trang_thai],
        "don_vi": d.don_vi_xu_ly.ten,
        "ngay_hen_tra": vn_date(_appointment(event)),
        "noi_dung": detail(event),
    }


def template_data(event: DossierEvent, name: str | None) -> dict[str, str]:
    """ZBS parameters of the standard dossier-update template, each within its typed limit."""
    return {k: fit(v, LIMITS[k]) for k, v in values(event, name).items()}


def alert_values(broadcast: Broadcast, name: str | None) -> dict[str, str]:
    """Values for an area-alert template: the alert text is the content paragraph."""
    return {
        "ten_nguoi_dan": name or READER,
        "ma_ho_so": "",
        "trang_thai": "Cảnh báo khẩn cấp",
        "don_vi": broadcast.issued_by,
        "ngay_hen_tra": vn_date(broadcast.issued_at),
        "noi_dung": broadcast.text,
    }


def otp_values(code: str, otp: str, minutes: int) -> dict[str, str]:
    """Values for the one-time-code template sent to a dossier's registered phone."""
    return {
        "otp": otp,
        "ma_ho_so": code,
        "noi_dung": (
            f"Mã xác thực chủ hồ sơ số {code} là {otp}, có hiệu lực trong {minutes} phút. "
            f"Nếu {READER} không yêu cầu, đề nghị không cung cấp mã này cho người khác."
        ),
    }
