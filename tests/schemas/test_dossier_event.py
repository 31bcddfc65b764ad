"""DossierEvent validation: valid events pass; every problem of an invalid one is reported with its path."""

from __future__ import annotations

import orjson
import pytest

from schemas import decode_event, dumps
from schemas.common import normalize_phone
from tests.factories import event


def paths(problems):
    return {p.path for p in problems}


@pytest.mark.parametrize(
    "status",
    ["RECEIVED", "SUPPLEMENT_REQUESTED", "DUE_DATE_EXTENDED", "PAYMENT_REQUESTED", "STOPPED", "RESULT_RETURNED"],
)
def test_a_complete_event_validates_and_round_trips(status):
    parsed, problems = decode_event(orjson.dumps(event(status)))
    assert problems == []
    again, problems = decode_event(dumps(parsed))
    assert problems == [] and again == parsed


def test_timestamps_are_written_in_vietnam_time():
    e = event("RECEIVED")
    e["occurred_at"] = "2026-11-28T02:00:00Z"
    parsed, _ = decode_event(orjson.dumps(e))
    assert orjson.loads(dumps(parsed))["occurred_at"] == "2026-11-28T09:00:00+07:00"


def test_every_field_problem_is_reported_at_once():
    e = event("RECEIVED")
    e["event_id"] = "nope"
    e["sequence"] = -3
    e["data"]["ma_dvhc"]["tinh"] = "2"
    e["data"]["nguoi_nhan_thong_bao"][0]["phone"] = "02033123456"
    e["data"]["extra"] = 1
    _, problems = decode_event(orjson.dumps(e))
    assert paths(problems) == {
        "event_id",
        "sequence",
        "data.ma_dvhc.tinh",
        "data.nguoi_nhan_thong_bao[0].phone",
        "data.extra",
    }


def test_cross_field_rules_are_all_reported():
    e = event("SUPPLEMENT_REQUESTED")
    e["data"]["trang_thai_dvcqg"] = 4
    del e["data"]["ly_do"]
    del e["data"]["bo_sung"]
    _, problems = decode_event(orjson.dumps(e))
    assert paths(problems) == {"data.trang_thai_dvcqg", "data.ly_do", "data.bo_sung"}


def test_naive_timestamps_are_rejected():
    e = event("RECEIVED")
    e["occurred_at"] = "2026-11-28T09:00:00"
    _, problems = decode_event(orjson.dumps(e))
    assert paths(problems) == {"occurred_at"}


def test_unknown_schema_version_is_named():
    e = event("RECEIVED")
    e["schema_version"] = "2.0"
    _, problems = decode_event(orjson.dumps(e))
    assert [str(p) for p in problems] == ["schema_version: unsupported schema version '2.0'"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [(b"\xff\xfe", "not valid UTF-8"), (b"[1]", "expected a JSON object, got list"), (b"", "not valid JSON")],
)
def test_undecodable_bytes_get_a_clear_reason(raw, message):
    _, problems = decode_event(raw)
    assert problems[0].message.startswith(message)


def test_display_names_are_limited_after_nfc_composition():
    decomposed = "Nguyễn Thị Thu Hương Ngọc Ánh"  # 29 characters composed
    import unicodedata

    e = event("RECEIVED")
    e["data"]["nguoi_nhan_thong_bao"][0]["ho_ten_hien_thi"] = unicodedata.normalize("NFD", decomposed)
    parsed, problems = decode_event(orjson.dumps(e))
    assert problems == []
    assert parsed.data.nguoi_nhan_thong_bao[0].ho_ten_hien_thi == decomposed


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("0912345678", "84912345678"),
        ("+84 912 345 678", "84912345678"),
        ("0084912345678", "84912345678"),
        ("912345678", "84912345678"),
        ("84312345678", "84312345678"),
        ("0243123456", None),
        ("12345", None),
        ("", None),
    ],
)
def test_phone_numbers_are_normalised_to_zalo_form(raw, want):
    assert normalize_phone(raw) == want
