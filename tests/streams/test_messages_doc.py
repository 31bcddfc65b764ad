"""docs/messages.md is what the code renders, and every message in it reads the way §9 asks: Ông/Bà, one fact
per line, ZBS parameters within their limits, nothing personal in the public level."""

from __future__ import annotations

from pathlib import Path

from hosoctl import messages_doc as doc
from schemas.dossier_event import Status
from streams import render
from streams.notify import NOTIFY
from streams.template_catalogue import load

DOC = Path(__file__).resolve().parents[2] / "docs" / "messages.md"


def test_the_file_is_current():
    assert DOC.read_text(encoding="utf-8") == doc.markdown(), "docs/messages.md drifted: run `make messages`"


def test_every_status_appears_with_every_channel():
    text = doc.markdown()
    for status in Status:
        section = text.split(f"### {status.value} — ", 1)[1].split("\n### ", 1)[0]
        assert "OA text, owner" in section and "OA text, follower without proof" in section, status
        assert "ZBS template `" in section, status


def test_every_notice_is_formal_one_fact_per_line_and_within_limits():
    catalogue = load(None, NOTIFY)
    for status, _variant, event in doc._variants():
        full = render.text(event, doc.NAME)
        public = render.public_text(event)
        for text in (full, public):
            assert "bạn" not in text.lower() and "sử dụng dịch vụ" not in text
            assert "\n" in text and len(text) <= render.MAX_TEXT
            assert all(line.strip() == line and line for line in text.splitlines())
        assert full.startswith(f"Kính gửi Ông/Bà {doc.NAME},\n") and full.endswith("\nTrân trọng cảm ơn Ông/Bà.")
        for private in (doc.NAME, event.data.ten_tthc, event.data.ly_do or doc.NAME):
            assert private not in public, (status, private)
        if status in NOTIFY:
            template = catalogue.template("oa", status.value)
            for name, value in template.data(render.values(event, doc.NAME)).items():
                assert value and "\n" not in value and len(value) <= template.params[name][1], (status, name)


def test_payment_and_result_delivery_are_spelled_out_when_known():
    payment = render.text(doc.sample(Status.PAYMENT_REQUESTED), None)
    assert "số tiền 150.000 đồng, hạn nộp 03/12/2026." in payment and "Thanh toán trực tuyến tại: https://" in payment
    shown = {variant: render.text(event, None) for status, variant, event in doc._variants() if variant}
    assert "Mời Ông/Bà nhận kết quả tại Trung tâm" in shown["result at the counter"]
    assert "dịch vụ bưu chính công ích" in shown["result by post"]
    assert "Tải kết quả điện tử tại: https://dichvucong.gov.vn/ket-qua/" in shown["result electronic"]
    assert "50.000 đồng" in shown["result at the counter, fee still due"]


def test_an_agency_apology_is_not_repeated():
    own = "Sở Xây dựng thành thật xin lỗi Ông/Bà, hồ sơ cần thêm thời gian thẩm định."
    text = render.text(doc.sample(Status.DUE_DATE_EXTENDED, noi_dung_hien_thi=own), None)
    assert text.lower().count("xin lỗi") == 1 and own in text


def test_a_long_reason_is_shortened_without_losing_the_lines_after_it():
    text = render.text(doc.sample(Status.STOPPED, ly_do="Lý do rất dài " * 70), None)
    assert len(text) <= render.MAX_TEXT and text.endswith("Trân trọng cảm ơn Ông/Bà.") and "…" in text
