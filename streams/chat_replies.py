"""The Vietnamese answers the OA sends back in chat: pure functions of the dossier state and the request.

Same register as the notices (``streams.render``): the reader is "Ông/Bà", one fact per line, requests are
"Đề nghị Ông/Bà …". Two levels of disclosure: ``public_block`` is what a public look-up by code shows
(status, handling agency, appointment date) and is all a person who has not proven the dossier is theirs
gets; ``full_block`` adds the procedure and the documents still missing. Consultation messages allow 2,000
characters; answers are cut on a line. Phone numbers are never echoed back.
"""

from __future__ import annotations

from datetime import datetime

from schemas.common import VN_TZ
from streams.chat_commands import Verb
from streams.dossier_state import DossierState
from streams.render import CLOSING, READER, fit_lines

MAX_TEXT = 2000
EXAMPLE_CODE = "000.00.49.H22-261128-0001"
GUIDE = "Mã hồ sơ in trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả."

HELP = "\n".join(
    [
        f"Kính chào {READER}. Đây là kênh thông báo tình trạng giải quyết hồ sơ thủ tục hành chính.",
        f"{READER} gửi tin nhắn theo cú pháp:",
        "- TC <mã hồ sơ>: tra cứu tình trạng hồ sơ",
        "- DK <mã hồ sơ>: đăng ký nhận thông báo khi hồ sơ được cập nhật",
        "- XN <mã hồ sơ>: xác thực chủ hồ sơ để nhận thông báo đầy đủ",
        "- HUY <mã hồ sơ>: dừng nhận thông báo về hồ sơ; HUY: dừng tất cả",
        "- THEO DOI <xã, phường hoặc tỉnh>: nhận tin của chính quyền địa phương; BO THEO DOI: dừng nhận tin",
        f"Ví dụ: TC {EXAMPLE_CODE}",
        GUIDE,
    ]
)


def _fit(lines: list[str]) -> str:
    return fit_lines(lines, MAX_TEXT)


def vn_datetime(iso: str | None) -> str:
    """``17:00 ngày 05/12/2026`` in Vietnam time (``05/12/2026`` at midnight); ``chưa có`` when unknown."""
    if not iso:
        return "chưa có"
    try:
        when = datetime.fromisoformat(iso).astimezone(VN_TZ)
    except ValueError:
        return iso
    day = when.strftime("%d/%m/%Y")
    return f"{when:%H:%M} ngày {day}" if (when.hour, when.minute) != (0, 0) else day


def public_block(state: DossierState, *, code_line: bool = True) -> list[str]:
    """What a public look-up by code shows: status, handling agency, appointment date. Nothing personal.

    ``code_line`` False when the sentence above already names the dossier (each fact once)."""
    return [
        *([f"Hồ sơ số: {state.ma_ho_so}"] if code_line else []),
        f"Tình trạng: {state.trang_thai_label_vi}",
        f"Cơ quan giải quyết: {state.don_vi_xu_ly}",
        f"Ngày hẹn trả kết quả: {vn_datetime(state.ngay_hen_tra)}",
        f"Cập nhật lúc {vn_datetime(state.updated_at)}",
    ]


def full_block(state: DossierState, *, code_line: bool = True) -> list[str]:
    """For the owner: the public facts plus the procedure, the department and the documents still missing."""
    agency = state.don_vi_xu_ly + (f" – {state.phong_ban}" if state.phong_ban else "")
    lines = [
        *([f"Hồ sơ số: {state.ma_ho_so}"] if code_line else []),
        f"Thủ tục: {state.ten_tthc}",
        f"Tình trạng: {state.trang_thai_label_vi}",
        f"Cơ quan giải quyết: {agency}",
        f"Ngày hẹn trả kết quả: {vn_datetime(state.ngay_hen_tra)}",
    ]
    if state.giay_to_bo_sung:
        lines.append("Giấy tờ cần bổ sung:")
        lines.extend(f"- {name}" for name in state.giay_to_bo_sung)
    lines.append(f"Cập nhật lúc {vn_datetime(state.updated_at)}")
    return lines


def _prove_hint(code: str) -> str:
    return f"Để xem đầy đủ thông tin, chủ hồ sơ gửi: XN {code}"


def lookup(state: DossierState, *, full: bool) -> str:
    """Answer to ``TC``: the full block for the owner, the public block for anyone else."""
    if full:
        return _fit(full_block(state))
    return _fit([*public_block(state), _prove_hint(state.ma_ho_so)])


def followed(state: DossierState, *, full: bool) -> str:
    """Answer to ``DK`` for a known dossier."""
    code = state.ma_ho_so
    if full:
        head = [f"Đã đăng ký nhận thông báo đầy đủ về hồ sơ số {code}."]
        return _fit([*head, *full_block(state, code_line=False), f"Để dừng nhận thông báo, gửi: HUY {code}"])
    return _fit(
        [
            f"Đã đăng ký nhận thông báo về hồ sơ số {code}.",
            *public_block(state, code_line=False),
            "Thông báo gửi qua kênh này chỉ gồm tình trạng, cơ quan giải quyết và ngày hẹn trả kết quả.",
            f"Để nhận thông báo đầy đủ, chủ hồ sơ gửi: XN {code}",
            f"Để dừng nhận thông báo, gửi: HUY {code}",
        ]
    )


def pending(code: str, until: datetime) -> str:
    """Answer to ``DK`` for a code not known yet (the agency's first sync has not arrived)."""
    return _fit(
        [
            f"Hồ sơ số {code} chưa được cơ quan cập nhật lên hệ thống.",
            f"Yêu cầu của {READER} đã được ghi nhận: hệ thống sẽ gửi thông báo khi hồ sơ được cập nhật.",
            f"Yêu cầu có hiệu lực đến ngày {until.astimezone(VN_TZ):%d/%m/%Y}.",
            f"Đề nghị {READER} kiểm tra lại mã hồ sơ. {GUIDE}",
        ]
    )


def pending_confirmed(state: DossierState, *, full: bool) -> str:
    """Sent when a dossier followed before its first sync arrives: the follow is now active."""
    code = state.ma_ho_so
    block = (
        full_block(state, code_line=False)
        if full
        else [*public_block(state, code_line=False), f"Để nhận thông báo đầy đủ, chủ hồ sơ gửi: XN {code}"]
    )
    return _fit(
        [
            f"Hồ sơ số {code} đã được cập nhật lên hệ thống. {READER} sẽ nhận thông báo khi hồ sơ thay đổi.",
            *block,
            f"Để dừng nhận thông báo, gửi: HUY {code}",
        ]
    )


def pending_limit(count: int) -> str:
    """Refusal of one more pending follow (a citizen may wait on a few unknown codes, not on thousands)."""
    return _fit(
        [
            f"{READER} đang chờ thông báo cho {count} hồ sơ chưa được cập nhật lên hệ thống.",
            f"Đề nghị {READER} kiểm tra lại mã hồ sơ, hoặc gửi HUY <mã hồ sơ> cho hồ sơ không cần theo dõi.",
        ]
    )


def not_found(code: str) -> str:
    """Answer to ``TC`` / ``XN`` for a code the system does not know."""
    return _fit(
        [
            f"Chưa tìm thấy hồ sơ số {code}.",
            "Hồ sơ vừa nộp có thể chưa được cơ quan cập nhật lên hệ thống.",
            f"Để nhận thông báo khi hồ sơ được cập nhật, gửi: DK {code}",
            f"Đề nghị {READER} kiểm tra lại mã hồ sơ. {GUIDE}",
        ]
    )


def unfollowed(code: str) -> str:
    """Answer to ``HUY <code>``."""
    return _fit([f"Đã dừng gửi thông báo về hồ sơ số {code} cho {READER}.", f"Để nhận lại thông báo, gửi: DK {code}"])


def unfollowed_all() -> str:
    """Answer to ``HUY``."""
    return _fit(
        [
            f"Đã dừng gửi mọi thông báo về hồ sơ qua Zalo cho {READER}.",
            "Để nhận lại thông báo, gửi: DK <mã hồ sơ>",
        ]
    )


def needs_code(verb: Verb, problem: str) -> str:
    """Answer to a command whose code is missing or not a dossier code."""
    what = f"{READER} chưa gửi kèm mã hồ sơ." if problem == "missing" else "Mã hồ sơ chưa đúng định dạng."
    return _fit(
        [what, f"Đề nghị gửi theo cú pháp: {verb.value} <mã hồ sơ>", f"Ví dụ: {verb.value} {EXAMPLE_CODE}", GUIDE]
    )


def otp_sent(code: str, minutes: int) -> str:
    """Answer to ``XN <code>`` when a one-time code went to the dossier's registered phone."""
    return _fit(
        [
            f"Mã xác thực đã được gửi qua Zalo đến số điện thoại đăng ký với hồ sơ số {code}.",
            f"Đề nghị {READER} gửi mã xác thực vào cuộc trò chuyện này trong vòng {minutes} phút.",
            "Mã chỉ được gửi đến tài khoản Zalo của số điện thoại đã đăng ký với cơ quan.",
        ]
    )


def no_registered_phone(code: str) -> str:
    """Answer to ``XN <code>`` when the dossier has no phone to send a one-time code to."""
    return _fit(
        [
            f"Hồ sơ số {code} chưa có số điện thoại nhận thông báo.",
            f"{READER} có thể xác thực bằng 6 số cuối của giấy tờ tùy thân ghi trên Giấy tiếp nhận hồ sơ:",
            f"XN {code} <6 số cuối>",
        ]
    )


def proven(state: DossierState) -> str:
    """Answer to a correct one-time code or ID suffix: the citizen now follows with full notices."""
    code = state.ma_ho_so
    return _fit(
        [
            f"Xác thực thành công. {READER} sẽ nhận thông báo đầy đủ về hồ sơ số {code}.",
            *full_block(state, code_line=False),
            f"Để dừng nhận thông báo, gửi: HUY {code}",
        ]
    )


def proof_wrong(code: str) -> str:
    """Answer to a wrong or expired one-time code / ID suffix."""
    return _fit(["Mã xác thực không đúng hoặc đã hết hiệu lực.", f"Để nhận mã mới, gửi: XN {code}"])


def proof_locked(code: str) -> str:
    """Answer once a dossier has refused too many wrong proofs today (however many accounts sent them)."""
    return _fit(
        [
            f"Hồ sơ số {code} tạm dừng nhận xác thực do nhập sai nhiều lần.",
            f"Đề nghị {READER} thử lại sau 24 giờ hoặc liên hệ cơ quan tiếp nhận hồ sơ.",
        ]
    )


def rate_limited(minutes: int) -> str:
    """Refusal when one Zalo user sends too many look-ups or proof attempts."""
    return _fit(
        [
            f"{READER} đã gửi nhiều yêu cầu trong thời gian ngắn.",
            f"Đề nghị {READER} thử lại sau {minutes} phút.",
        ]
    )


def no_proof_pending() -> str:
    """Answer to a bare one-time code when no ``XN <code>`` asked for one."""
    return _fit([f"Đề nghị {READER} gửi theo cú pháp: XN <mã hồ sơ> <mã xác thực>", f"Ví dụ: XN {EXAMPLE_CODE} 123456"])


def phone_not_proof() -> str:
    """Answer to shared contact information (``user_submit_info``): a typed phone proves nothing."""
    return _fit(
        [
            f"Cảm ơn {READER} đã gửi thông tin.",
            "Số điện thoại nhập vào biểu mẫu không được dùng để xác thực chủ hồ sơ.",
            f"Để nhận thông báo đầy đủ, {READER} gửi: XN <mã hồ sơ>. Mã xác thực sẽ được gửi qua Zalo "
            "đến số điện thoại đã đăng ký với hồ sơ.",
        ]
    )


def welcome() -> str:
    """Answer to an OA follow."""
    return HELP


def otp_text(code: str, minutes: int) -> str:
    """The OA-text form of the one-time-code message (the ZBS template carries the code itself)."""
    return _fit(
        [
            f"Mã xác thực chủ hồ sơ số {code} đã được gửi tới {READER}, có hiệu lực trong {minutes} phút.",
            "Không cung cấp mã này cho người khác.",
            CLOSING,
        ]
    )


# --- area news (issue 20: THEO DOI <xã/phường/tỉnh>, BO THEO DOI) ------------------------------------

AREA_HOW = "Đề nghị gửi theo cú pháp: THEO DOI <tên xã, phường hoặc tỉnh, thành phố>"


def area_followed(names: list[str]) -> str:
    """Answer to ``THEO DOI <area>`` naming known areas."""
    return _fit(
        [
            f"{READER} đã đăng ký nhận tin từ chính quyền về: {', '.join(names)}.",
            "Tin khẩn cấp (thiên tai, dịch bệnh) được gửi ngay; tin chính sách không gửi vào ban đêm.",
            "Để dừng nhận tin, gửi: BO THEO DOI",
            CLOSING,
        ]
    )


def area_unknown(examples: list[str]) -> str:
    """Answer to ``THEO DOI`` followed by words that name no known area."""
    return _fit(
        [
            f"Chưa xác định được địa phương {READER} muốn nhận tin.",
            AREA_HOW,
            *(f"Ví dụ: THEO DOI {e}" for e in examples),
            f"Để theo dõi hồ sơ, {READER} gửi: DK <mã hồ sơ>",
        ]
    )


def area_ambiguous(options: list[str]) -> str:
    """Answer to a commune name several provinces share: the citizen adds the province."""
    return _fit(
        [
            f"Có nhiều địa phương cùng tên: {'; '.join(options)}.",
            f"Đề nghị {READER} gửi kèm tên tỉnh, thành phố, ví dụ: THEO DOI {options[0]}",
        ]
    )


def area_stopped(names: list[str] | None) -> str:
    """Answer to ``BO THEO DOI`` (all areas when ``names`` is None)."""
    what = "tin từ chính quyền theo địa phương" if names is None else f"tin về {', '.join(names)}"
    return _fit(
        [
            f"Đã dừng gửi {what} cho {READER}.",
            f"Thông báo về hồ sơ {READER} đang theo dõi không thay đổi.",
            "Để nhận lại, gửi: THEO DOI <tên xã, phường hoặc tỉnh>",
        ]
    )


# --- an address shared through Zalo's information form (``user_submit_info``) ----------------------

_PHONE_NOTE = [
    "Số điện thoại nhập vào biểu mẫu không được dùng để xác thực chủ hồ sơ.",
    f"Để nhận thông báo đầy đủ về hồ sơ, {READER} gửi: XN <mã hồ sơ>.",
]


def address_followed(names: list[str], *, phone_shared: bool) -> str:
    """Answer to a shared address that names a known area: its news is followed, as ``THEO DOI`` would."""
    return _fit(
        [
            f"Cảm ơn {READER} đã gửi thông tin.",
            f"Theo địa chỉ {READER} cung cấp, {READER} đã được đăng ký nhận tin từ chính quyền về: {', '.join(names)}.",
            "Hệ thống chỉ ghi nhận địa bàn nhận tin, không lưu địa chỉ và số điện thoại.",
            "Tin khẩn cấp (thiên tai, dịch bệnh) được gửi ngay; tin chính sách không gửi vào ban đêm.",
            "Để nhận tin của địa phương khác, gửi: THEO DOI <tên xã, phường hoặc tỉnh>",
            "Để dừng nhận tin, gửi: BO THEO DOI",
            *(_PHONE_NOTE if phone_shared else []),
            CLOSING,
        ]
    )


def address_unknown(examples: list[str], *, options: list[str] | None = None, phone_shared: bool) -> str:
    """Answer to a shared address in which no known area could be told for sure: how to choose one by chat."""
    if options:
        what = [f"Địa chỉ {READER} cung cấp có thể thuộc nhiều địa phương: {'; '.join(options)}."]
        examples = [options[0]]
    else:
        what = [f"Chưa xác định được xã, phường hoặc tỉnh, thành phố từ địa chỉ {READER} cung cấp."]
    return _fit(
        [
            f"Cảm ơn {READER} đã gửi thông tin.",
            *what,
            f"Để nhận tin từ chính quyền địa phương, đề nghị {READER} gửi: THEO DOI <tên xã, phường hoặc tỉnh>",
            *(f"Ví dụ: THEO DOI {e}" for e in examples),
            *(_PHONE_NOTE if phone_shared else []),
        ]
    )
