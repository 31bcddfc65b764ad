"""Chat answers: the owner's look-up names procedure and missing documents, a stranger's does not; every answer
addresses the reader as Ông/Bà, keeps one fact per line and stays within the consultation-message limit."""

from __future__ import annotations

from datetime import timedelta

from schemas.common import now_vn
from streams import chat_replies
from streams.chat_commands import Verb
from tests.factories import dossier_state as state


def test_the_owners_lookup_names_agency_status_appointment_and_missing_documents():
    text = chat_replies.lookup(state(), full=True)
    assert "Tình trạng: Cần bổ sung hồ sơ" in text
    assert "Cơ quan giải quyết: Sở Xây dựng Quảng Ninh – Phòng Quản lý xây dựng" in text
    assert "Ngày hẹn trả kết quả: 17:00 ngày 05/12/2026" in text
    assert "- Bản vẽ thiết kế\n- Bản sao CCCD" in text


def test_a_public_lookup_shows_only_status_agency_and_appointment():
    text = chat_replies.lookup(state(), full=False)
    assert text.splitlines()[:4] == [
        "Hồ sơ số: 000.00.49.H22-261128-0001",
        "Tình trạng: Cần bổ sung hồ sơ",
        "Cơ quan giải quyết: Sở Xây dựng Quảng Ninh",
        "Ngày hẹn trả kết quả: 17:00 ngày 05/12/2026",
    ]
    assert "Bản vẽ" not in text and "Cấp giấy phép" not in text and "Phòng" not in text


def test_answers_stay_within_the_consultation_limit():
    many = [f"Giấy tờ số {i} với tên rất dài để kiểm tra giới hạn" for i in range(200)]
    text = chat_replies.lookup(state(giay_to_bo_sung=many), full=True)
    assert len(text) <= chat_replies.MAX_TEXT and text.endswith("giới hạn")
    assert chat_replies.vn_datetime(None) == "chưa có"


def test_every_answer_uses_the_formal_register():
    s = state()
    texts = [
        chat_replies.HELP,
        chat_replies.lookup(s, full=True),
        chat_replies.lookup(s, full=False),
        chat_replies.followed(s, full=False),
        chat_replies.followed(s, full=True),
        chat_replies.pending("X-1", now_vn() + timedelta(days=14)),
        chat_replies.pending_confirmed(s, full=False),
        chat_replies.not_found("X-1"),
        chat_replies.unfollowed("X-1"),
        chat_replies.unfollowed_all(),
        chat_replies.needs_code(Verb.FOLLOW, "missing"),
        chat_replies.otp_sent("X-1", 10),
        chat_replies.proven(s),
        chat_replies.proof_wrong("X-1"),
        chat_replies.rate_limited(30),
        chat_replies.phone_not_proof(),
    ]
    for text in texts:
        assert "bạn" not in text.lower(), text
        assert "  " not in text and all(line == line.strip() for line in text.splitlines())
