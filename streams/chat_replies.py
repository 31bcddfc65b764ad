"""The Vietnamese answers the OA sends back in chat: pure functions of the dossier state and the request.

Consultation messages allow 2,000 characters; answers stay far below, and are cut on a line if a dossier
lists an unusual number of missing documents. Phone numbers are never echoed back.
"""

from __future__ import annotations

from datetime import datetime

from schemas.common import VN_TZ, nfc
from streams.chat_commands import Verb
from streams.dossier_state import DossierState

MAX_TEXT = 2000
EXAMPLE_CODE = "000.00.49.H22-261128-0001"

HELP = (
    "Chào bạn! Tại đây bạn có thể theo dõi hồ sơ thủ tục hành chính. Gửi:\n"
    "• DK <mã hồ sơ> để nhận thông báo khi hồ sơ thay đổi\n"
    "• TC <mã hồ sơ> để tra cứu tình trạng hồ sơ\n"
    "• HUY <mã hồ sơ> để dừng thông báo một hồ sơ, hoặc HUY để dừng tất cả\n"
    f"Ví dụ: TC {EXAMPLE_CODE}\n"
    "Mã hồ sơ in trên giấy tiếp nhận và hẹn trả kết quả."
)


def _fit(text: str) -> str:
    text = nfc(text)
    if len(text) <= MAX_TEXT:
        return text
    cut = text[: MAX_TEXT - 1]
    return cut[: cut.rfind("\n")] if "\n" in cut else cut


def vn_datetime(iso: str | None) -> str:
    """``17:00 ngày 05/12/2026`` in Vietnam time; ``chưa có`` when unknown."""
    if not iso:
        return "chưa có"
    try:
        when = datetime.fromisoformat(iso).astimezone(VN_TZ)
    except ValueError:
        return iso
    day = when.strftime("%d/%m/%Y")
    return f"{when:%H:%M} ngày {day}" if (when.hour, when.minute) != (0, 0) else f"ngày {day}"


def status_block(state: DossierState) -> str:
    """Procedure, status, handling agency, appointment date and missing documents of one dossier."""
    agency = state.don_vi_xu_ly + (f" – {state.phong_ban}" if state.phong_ban else "")
    lines = [
        f"Hồ sơ: {state.ma_ho_so}",
        f"Thủ tục: {state.ten_tthc}",
        f"Tình trạng: {state.trang_thai_label_vi}",
        f"Cơ quan xử lý: {agency}",
        f"Ngày hẹn trả: {vn_datetime(state.ngay_hen_tra)}",
    ]
    if state.giay_to_bo_sung:
        lines.append("Giấy tờ cần bổ sung:")
        lines.extend(f"  – {name}" for name in state.giay_to_bo_sung)
    lines.append(f"Cập nhật: {vn_datetime(state.updated_at)}")
    return "\n".join(lines)


def lookup(state: DossierState) -> str:
    """Answer to ``TC``."""
    return _fit(status_block(state))


def followed(state: DossierState) -> str:
    """Answer to ``DK`` for a known dossier."""
    return _fit(
        f"Đã đăng ký nhận thông báo cho hồ sơ {state.ma_ho_so}. Bạn sẽ được báo khi hồ sơ thay đổi.\n"
        f"{status_block(state)}\nGửi HUY {state.ma_ho_so} để dừng nhận thông báo."
    )


def not_found(code: str) -> str:
    """Answer to ``DK`` / ``TC`` for a code the system does not know."""
    return _fit(
        f"Không tìm thấy hồ sơ {code}. Vui lòng kiểm tra lại mã hồ sơ trên giấy tiếp nhận "
        "(hồ sơ vừa nộp có thể cần vài phút để được cập nhật)."
    )


def unfollowed(code: str) -> str:
    """Answer to ``HUY <code>``."""
    return _fit(f"Đã dừng gửi thông báo về hồ sơ {code}. Gửi DK {code} nếu bạn muốn nhận lại.")


def unfollowed_all() -> str:
    """Answer to ``HUY``."""
    return "Đã dừng gửi mọi thông báo hồ sơ qua Zalo cho bạn. Gửi DK <mã hồ sơ> nếu bạn muốn nhận lại."


def needs_code(verb: Verb, problem: str) -> str:
    """Answer to a command whose code is missing or not a dossier code."""
    what = "Bạn chưa gửi kèm mã hồ sơ." if problem == "missing" else "Mã hồ sơ chưa đúng định dạng."
    return f"{what} Vui lòng gửi: {verb.value} <mã hồ sơ>, ví dụ: {verb.value} {EXAMPLE_CODE}"


def phone_linked() -> str:
    """Answer to shared contact information."""
    return (
        "Đã ghi nhận số điện thoại của bạn. Thông báo hồ sơ gửi theo số này cũng dừng khi bạn gửi HUY "
        "hoặc HUY <mã hồ sơ>."
    )
