"""Vietnamese wording and ZNS parameter limits."""

from __future__ import annotations

import unicodedata

import orjson

from schemas import decode_event
from streams.render import LIMITS, SHORT_STATUS, fit, template_data, text
from tests.factories import event


def parsed(status: str, **data):
    e, problems = decode_event(orjson.dumps(event(status, **data)))
    assert not problems, problems
    return e


def test_short_statuses_fit_the_zns_status_parameter():
    assert all(len(v) <= 30 for v in SHORT_STATUS.values())


def test_every_parameter_respects_its_limit_even_for_long_names():
    e = parsed("RECEIVED", don_vi_xu_ly={"ma_dinh_danh": "X.1", "ten": "Sở " + "rất dài " * 23})
    data = template_data(e, "Nguyễn Thị Thu Hương Ngọc Ánh")
    for key, value in data.items():
        assert len(value) <= LIMITS[key], key


def test_fit_cuts_on_a_word_and_composes_to_nfc():
    assert fit("một hai ba bốn năm", 10) == "một hai…"
    nfd = unicodedata.normalize("NFD", "Hương")
    assert fit(nfd, 30) == "Hương"


def test_supplement_message_lists_every_missing_document_and_the_reason():
    msg = text(parsed("SUPPLEMENT_REQUESTED"), "Lan")
    assert "Bản vẽ thiết kế" in msg and "Bản sao CCCD" in msg and "Lý do" in msg


def test_apology_carries_old_and_new_dates():
    data = template_data(parsed("DUE_DATE_EXTENDED"), "Lan")
    assert "05/12/2026" in data["noi_dung"] and "12/12/2026" in data["noi_dung"]
    assert data["ngay_hen_tra"] == "12/12/2026"


def test_payment_amount_is_written_the_vietnamese_way():
    assert "150.000 đồng" in template_data(parsed("PAYMENT_REQUESTED"), None)["noi_dung"]
