"""Citizens' chat commands: diacritics, case and spacing do not matter; codes are checked; replies read well."""

from __future__ import annotations

import pytest

from streams import chat_replies
from streams.chat_commands import Command, Verb, fold, parse
from streams.dossier_state import DossierState

CODE = "000.00.49.H22-261128-0001"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"DK {CODE}", Command(Verb.FOLLOW, CODE)),
        (f"  dk   {CODE.lower()}  ", Command(Verb.FOLLOW, CODE)),
        (f"Đăng ký {CODE}", Command(Verb.FOLLOW, CODE)),
        (f"đk {CODE}", Command(Verb.FOLLOW, CODE)),
        (f"TRA CỨU {CODE}.", Command(Verb.LOOKUP, CODE)),
        (f"tc #{CODE}", Command(Verb.LOOKUP, CODE)),
        (f"Hủy {CODE}", Command(Verb.STOP, CODE)),
        (f"HUỶ {CODE}", Command(Verb.STOP, CODE)),
        ("huy", Command(Verb.STOP)),
        ("  HỦY  ", Command(Verb.STOP)),
        ("tc", Command(Verb.LOOKUP, problem="missing")),
        ("DK ???", Command(Verb.FOLLOW, problem="invalid")),
        ("xin chào", Command(Verb.HELP)),
        ("", Command(Verb.HELP)),
        ("DKX 123", Command(Verb.HELP)),
    ],
)
def test_commands_are_recognised_however_they_are_typed(text: str, expected: Command):
    assert parse(text) == expected


def test_folding_removes_marks_and_d_stroke():
    assert fold("  Đăng   kÝ hồ sơ ") == "DANG KY HO SO"


def state(**changes) -> DossierState:
    base = dict(
        ma_ho_so=CODE,
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


def test_a_lookup_answer_names_agency_status_appointment_and_missing_documents():
    text = chat_replies.lookup(state())
    assert "Tình trạng: Cần bổ sung hồ sơ" in text
    assert "Cơ quan xử lý: Sở Xây dựng Quảng Ninh – Phòng Quản lý xây dựng" in text
    assert "Ngày hẹn trả: 17:00 ngày 05/12/2026" in text
    assert "– Bản vẽ thiết kế" in text and "– Bản sao CCCD" in text


def test_answers_stay_within_the_consultation_limit():
    many = [f"Giấy tờ số {i} với tên rất dài để kiểm tra giới hạn" for i in range(200)]
    assert len(chat_replies.lookup(state(giay_to_bo_sung=many))) <= chat_replies.MAX_TEXT
    assert chat_replies.vn_datetime(None) == "chưa có"
