"""docs/messages.md: every message a citizen can receive, rendered by the production code, in one file.

A reviewer (or an agency's communications officer) reads the wording here instead of in code; a test fails when
the file differs from what the code renders, so it cannot drift. Regenerate with ``make messages``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import orjson

from schemas.codec import decode_event
from schemas.dossier_event import STATUS_LABEL_VI, DossierEvent, Status
from schemas.rating import RatingLevel
from streams import chat_replies as replies
from streams import ratings as survey
from streams import render
from streams.chat_commands import SPELLINGS, Verb
from streams.dossier_state import DossierState, advance
from streams.notify import NOTIFY, template_id
from streams.template_catalogue import OTP, Template, load

CODE = "000.00.49.H22-261129-0007"
NAME = "Nguyễn Thị Lan"
LOOKUP_URL = f"https://dichvucong.quangninh.gov.vn/tra-cuu?mhs={CODE}"

_DVCQG = {
    Status.SUBMITTED: 1,
    Status.RECEIVED: 2,
    Status.REJECTED_AT_INTAKE: 3,
    Status.SUPPLEMENT_REQUESTED: 5,
    Status.PAYMENT_REQUESTED: 6,
    Status.WITHDRAWAL_REQUESTED: 7,
    Status.STOPPED: 8,
    Status.RESULT_READY: 9,
    Status.RESULT_RETURNED: 10,
    Status.SURVEY_INVITED: 10,
    Status.SURVEY_SUBMITTED: 10,
}


def sample(status: Status, **extra: Any) -> DossierEvent:
    """A realistic event of ``status`` for dossier ``CODE`` (fixed ids and times, so the file is stable)."""
    data: dict[str, Any] = {
        "ma_ho_so": CODE,
        "ma_tthc": "1.000894",
        "ten_tthc": "Cấp giấy phép xây dựng nhà ở riêng lẻ",
        "kenh_thuc_hien": 2,
        "trang_thai_dvcqg": _DVCQG.get(status, 4),
        "trang_thai": status.value,
        "trang_thai_label_vi": STATUS_LABEL_VI[status],
        "don_vi_tiep_nhan": {"ma_dinh_danh": "000.00.49.H22", "ten": "Trung tâm Phục vụ hành chính công tỉnh"},
        "don_vi_xu_ly": {"ma_dinh_danh": "000.00.49.H22", "ten": "Sở Xây dựng tỉnh Quảng Ninh"},
        "ma_dvhc": {"tinh": "22", "xa": "06652"},
        "ngay_hen_tra": "2026-12-12T17:00:00+07:00",
        "tra_cuu_url": LOOKUP_URL,
        "nguoi_nhan_thong_bao": [{"ho_ten_hien_thi": NAME, "phone": "0912345678", "dong_y_zalo": True}],
    }
    if status in {
        Status.REJECTED_AT_INTAKE,
        Status.SUPPLEMENT_REQUESTED,
        Status.STOPPED,
        Status.WITHDRAWAL_REQUESTED,
        Status.DUE_DATE_EXTENDED,
    }:
        data["ly_do"] = {
            Status.REJECTED_AT_INTAKE: "Hồ sơ không thuộc thẩm quyền giải quyết của cơ quan",
            Status.SUPPLEMENT_REQUESTED: "Bản vẽ chưa có chữ ký của người thiết kế",
            Status.STOPPED: "Công trình thuộc khu vực đã có quyết định thu hồi đất",
            Status.WITHDRAWAL_REQUESTED: "Công dân đề nghị rút hồ sơ để điều chỉnh thiết kế",
            Status.DUE_DATE_EXTENDED: "Cần lấy ý kiến thẩm định của cơ quan liên quan",
        }[status]
    if status is Status.SUPPLEMENT_REQUESTED:
        data["bo_sung"] = {
            "lan_thu": 1,
            "han_bo_sung": "2026-12-05T17:00:00+07:00",
            "giay_to": [{"ten": "Bản vẽ thiết kế có chữ ký"}, {"ten": "Bản sao Giấy chứng nhận quyền sử dụng đất"}],
        }
    if status is Status.DUE_DATE_EXTENDED:
        data["ngay_hen_tra_truoc"] = "2026-12-12T17:00:00+07:00"
        data["gia_han"] = {"lan_thu": 1, "ngay_hen_tra_moi": "2026-12-19T17:00:00+07:00"}
    if status is Status.PAYMENT_REQUESTED:
        data["nghia_vu_tai_chinh"] = {
            "tong_tien_vnd": 150000,
            "han_nop": "2026-12-03T17:00:00+07:00",
            "link_thanh_toan": "https://dichvucong.gov.vn/thanh-toan?mhs=" + CODE,
        }
    if status in {Status.RESULT_READY, Status.RESULT_RETURNED}:
        data["ket_qua"] = {"ten_giay_to": "Giấy phép xây dựng số 123/GPXD"}
    if status is Status.SURVEY_INVITED:
        data["danh_gia_url"] = "https://dichvucong.quangninh.gov.vn/danh-gia?mhs=" + CODE
    data.update(extra)
    raw = {
        "event_id": "00000000-0000-4000-8000-000000000007",
        "event_type": status.value,
        "occurred_at": "2026-11-29T09:02:00+07:00",
        "emitted_at": "2026-11-29T09:02:05+07:00",
        "source_system": "000.00.49.H22",
        "sequence": 2,
        "data": data,
    }
    event, problems = decode_event(orjson.dumps(raw))
    if event is None:
        raise ValueError(f"sample {status.value} is not valid: {problems}")
    return event


def _block(text: str) -> list[str]:
    return ["```text", text, "```", ""]


def _zbs(template: Template, event: DossierEvent) -> list[str]:
    data = template.data(render.values(event, NAME))
    rows = [f"ZBS template `{template.template_id}` (by phone):", "", "| Parameter | Value | Length / limit |"]
    rows.append("|---|---|---|")
    for name, (_source, limit) in template.params.items():
        rows.append(f"| `{name}` | {data[name]} | {len(data[name])} / {limit} |")
    return [*rows, ""]


def _variants() -> list[tuple[Status, str, DossierEvent]]:
    out: list[tuple[Status, str, DossierEvent]] = []
    for status in Status:
        if status is Status.RESULT_READY:
            base = sample(status)
            assert base.data.ket_qua is not None
            for form, label in (("TRUC_TIEP", "at the counter"), ("BUU_CHINH", "by post"), ("DIEN_TU", "electronic")):
                result = {"ten_giay_to": base.data.ket_qua.ten_giay_to, "hinh_thuc_nhan": form}
                if form == "DIEN_TU":
                    result["link"] = "https://dichvucong.gov.vn/ket-qua/123-GPXD.pdf"
                out.append((status, f"result {label}", sample(status, ket_qua=result)))
            paying = {"tong_tien_vnd": 50000}
            out.append((status, "result at the counter, fee still due", sample(status, nghia_vu_tai_chinh=paying)))
        elif status is Status.RESULT_RETURNED:
            out.append((status, "", sample(status)))
            post = {"ten_giay_to": "Giấy phép xây dựng số 123/GPXD", "hinh_thuc_nhan": "BUU_CHINH"}
            out.append((status, "sent by post", sample(status, ket_qua=post)))
        else:
            out.append((status, "", sample(status)))
    return out


def notices() -> list[str]:
    """Every status × channel: full OA text, public OA text, ZBS template parameters."""
    catalogue = load(None, NOTIFY)
    lines = ["## Dossier notices, by status", ""]
    for status, variant, event in _variants():
        title = f"### {status.value} — {STATUS_LABEL_VI[status]}" + (f" ({variant})" if variant else "")
        lines += [title, ""]
        if status not in NOTIFY:
            lines += [
                "Not sent to citizens (see `streams/notify.py`: confirmed by the portal, internal, or the "
                "citizen's own act). Rendered for completeness:",
                "",
            ]
        lines += ["OA text, owner / proven follower / consented phone's chat:", "", *_block(render.text(event, NAME))]
        lines += ["OA text, follower without proof:", "", *_block(render.public_text(event))]
        template = catalogue.template("any-oa", status.value) if status in NOTIFY else None
        lines += _zbs(template or Template(template_id(status), catalogue.default["RECEIVED"].params), event)
    return lines


def _state() -> DossierState:
    return advance(None, sample(Status.SUPPLEMENT_REQUESTED))


def chat() -> list[str]:
    """Every chat answer, with the request that causes it."""
    state = _state()
    until = sample(Status.RECEIVED).occurred_at + timedelta(days=14)
    cases: list[tuple[str, str]] = [
        ("Any other message, or following the OA", replies.HELP),
        (f"`TC {CODE}` by anyone (public look-up)", replies.lookup(state, full=False)),
        (f"`TC {CODE}` by the owner (proven)", replies.lookup(state, full=True)),
        (f"`DK {CODE}` without proof", replies.followed(state, full=False)),
        (f"`DK {CODE}` by the owner (proven)", replies.followed(state, full=True)),
        (f"`DK {CODE}` before the agency's first sync", replies.pending(CODE, until)),
        ("… then, when the dossier's first event arrives", replies.pending_confirmed(state, full=False)),
        ("`DK` for one more unsynced code than allowed", replies.pending_limit(5)),
        (f"`TC {CODE}` for a code nobody has synced", replies.not_found(CODE)),
        (f"`XN {CODE}` (a one-time code went to the registered phone)", replies.otp_sent(CODE, 10)),
        (f"`XN {CODE}` for a dossier without a registered phone", replies.no_registered_phone(CODE)),
        ("The right one-time code, or the ID document's last 6 digits", replies.proven(state)),
        ("A wrong or expired code", replies.proof_wrong(CODE)),
        ("A dossier that refused too many wrong proofs today", replies.proof_locked(CODE)),
        ("A bare 6-digit code with no `XN` before it", replies.no_proof_pending()),
        ("Too many look-ups or proofs in an hour", replies.rate_limited(35)),
        (f"`HUY {CODE}`", replies.unfollowed(CODE)),
        ("`HUY` / `Hủy tất cả` / `Hủy đăng ký`", replies.unfollowed_all()),
        ("`DK` without a code", replies.needs_code(Verb.FOLLOW, "missing")),
        ("`TC ???`", replies.needs_code(Verb.LOOKUP, "invalid")),
        ("A phone shared through a form (`user_submit_info`)", replies.phone_not_proof()),
        (
            "An address shared through the form that names a known area (with a phone)",
            replies.address_followed(["phường Ba Đình"], phone_shared=True),
        ),
        (
            "An address shared through the form that names no area for sure",
            replies.address_unknown(["phường Hạ Long", "phường Bãi Cháy", "tỉnh Quảng Ninh"], phone_shared=False),
        ),
        (
            "An address in a commune several provinces share",
            replies.address_unknown(
                [], options=["xã Tân Phú, tỉnh Đồng Nai", "xã Tân Phú, tỉnh Đồng Tháp"], phone_shared=False
            ),
        ),
        ("`THEO DOI phuong Bai Chay` (area news)", replies.area_followed(["phường Bãi Cháy"])),
        (
            "`THEO DOI` with a name no area has",
            replies.area_unknown(["phường Hạ Long", "phường Bãi Cháy", "tỉnh Quảng Ninh"]),
        ),
        (
            "`THEO DOI` with a commune name several provinces share",
            replies.area_ambiguous(["xã Tân Phú, tỉnh Đồng Nai", "xã Tân Phú, tỉnh Đồng Tháp"]),
        ),
        ("`BO THEO DOI` / `Bỏ theo dõi`", replies.area_stopped(None)),
        ("`BO THEO DOI Bai Chay`", replies.area_stopped(["phường Bãi Cháy"])),
        ("A survey answer (`3`, `rat hai long`) for a finished dossier", survey.thanks(CODE, RatingLevel.RAT_HAI_LONG)),
        ("A survey answer after the survey closed", survey.survey_closed(CODE, until + timedelta(days=16))),
    ]
    lines = ["## Chat answers (OA consultation messages)", ""]
    for title, text in cases:
        lines += [f"### {title}", "", *_block(text)]
    return lines


def otp() -> list[str]:
    """The one-time code by ZBS."""
    template = load(None, NOTIFY).template("any-oa", OTP)
    values = render.otp_values(CODE, "482913", 10)
    data = template.data(values)
    lines = ["## One-time code (ZBS OTP template, to the dossier's registered phone only)", ""]
    lines += [f"Template `{template.template_id}`:", "", "| Parameter | Value |", "|---|---|"]
    lines += [f"| `{k}` | {v} |" for k, v in data.items()]
    return [*lines, "", "Wording the template is registered with:", "", *_block(values["noi_dung"])]


def commands() -> list[str]:
    """What citizens can type (folded: case and diacritics do not matter)."""
    lines = ["## Commands as typed", "", "| Command | Spellings recognised (without marks) |", "|---|---|"]
    for verb, spellings in SPELLINGS.items():
        lines.append(f"| `{verb.value}` | {', '.join(' '.join(s) for s in spellings)} |")
    lines += [
        "",
        "Words around the code are ignored (`DK <mã> cảm ơn`, `Tra cứu hồ sơ số <mã> ạ`), `TC:<mã>` and `tc #<mã>` "
        "work, a code on its own is a look-up, and 4–12 digits on their own answer a pending `XN`. "
        "The table test is `tests/streams/test_chat_commands.py`.",
        "",
    ]
    return lines


INTRO = """# Messages citizens receive

Generated by `make messages` (`python -m hosoctl.messages_doc`) from `streams/render.py`,
`streams/chat_replies.py` and the template catalogue; `tests/streams/test_messages_doc.py` fails when this file
differs from what the code renders. Every text block below is exactly what the citizen's phone shows, line breaks
included.

## Who sees what

{levels}

A phone typed into a form (`user_submit_info`) proves nothing and links nothing: only a phone proven by a
one-time code is stopped by that user's `HUY`. An address typed into that form places the citizen for area news
as `THEO DOI <area>` would, when it names one known commune or province; only the area's code is kept.
Unfollowing the OA ends OA chat only; phone notices continue.
Look-ups (`TC`, `DK`) and proofs (`XN`) are limited per Zalo user per hour, wrong proofs per dossier per day
(`hoso_chat_refusals_total` counts refusals).
"""


LEVELS: list[tuple[str, str, str, str]] = [
    ("Reader", "How they got there", "Notices", "`TC` answer"),
    (
        "Owner / authorised person, by phone (ZBS)",
        "the agency recorded their consent (`dong_y_zalo`)",
        "full: name, procedure, reasons, documents, amounts",
        "—",
    ),
    (
        "Proven follower in OA chat",
        "`XN <mã>`, then the one-time code sent to the dossier's registered phone; or `XN <mã> <6 số cuối>` of the "
        "ID document, checked against the agency's `xac_thuc_hash`",
        "full (OA text)",
        "full",
    ),
    (
        "Follower without proof",
        "`DK <mã>` only",
        "what a public look-up shows: status, handling agency, appointment date",
        "the same",
    ),
    ("Anyone", "knows or guesses a code", "—", "status, handling agency, appointment date"),
]


def _table(rows: list[tuple[str, ...]]) -> str:
    head, *body = rows
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])


def markdown() -> str:
    """The whole of docs/messages.md."""
    parts = [INTRO.replace("{levels}", _table(LEVELS)), *notices(), *otp(), *chat(), *commands()]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    sys.stdout.write(markdown())
