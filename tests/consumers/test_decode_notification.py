"""The dispatcher's fast notification decoder accepts and refuses exactly what the general decoder does."""

from __future__ import annotations

import orjson
import pytest

from consumers.dispatcher import decode_notification
from hosoctl.bench.records import notification
from schemas.codec import MAX_RECORD_BYTES, decode
from schemas.notification import Notification

_, GOOD = notification("spec", 7)
BASE = orjson.loads(GOOD)


def _with(**changes: object) -> bytes:
    return orjson.dumps({**BASE, **changes})


def _without(field: str) -> bytes:
    return orjson.dumps({k: v for k, v in BASE.items() if k != field})


CARELESS = {
    "as produced": GOOD,
    "priority as a string": _with(priority="1"),
    "priority out of range": _with(priority=9),
    "occurred_at without an offset": _with(occurred_at="2026-11-29T14:33:04"),
    "occurred_at as epoch seconds": _with(occurred_at=1795939984),
    "occurred_at as an empty string": _with(occurred_at=""),
    "kind in lower case": _with(kind="dossier_update"),
    "tracking id with punctuation": _with(tracking_id="abc/def"),
    "empty text": _with(text=""),
    "template data with a number": _with(template_data={"ma_ho_so": 123}),
    "an unknown field": _with(trang_thai_cu="x"),
    "no addressee": _without("to"),
    "addressee as a string": _with(to="84900000001"),
    "null record": b"null",
    "a JSON list": b"[1, 2]",
    "not JSON": b"{tracking_id: 1",
    "not UTF-8": b'{"text": "\xff\xfe"}',
    "empty record": b"",
}


@pytest.mark.parametrize("raw", CARELESS.values(), ids=CARELESS.keys())
def test_the_fast_decoder_agrees_with_the_general_one_on_what_a_careless_producer_sends(raw: bytes) -> None:
    fast, fast_problems = decode_notification(raw)
    general, general_problems = decode(Notification, raw)
    assert fast == general
    assert [p.to_dict() for p in fast_problems] == [p.to_dict() for p in general_problems]


def test_a_missing_value_is_refused_as_an_empty_record() -> None:
    n, problems = decode_notification(None)
    assert n is None
    assert problems[0].to_dict()["message"].startswith("not valid JSON")


def test_an_oversized_record_is_refused_for_its_size() -> None:
    n, problems = decode_notification(b"{}" + b" " * MAX_RECORD_BYTES)
    assert n is None
    assert problems[0].to_dict()["message"] == f"record is {MAX_RECORD_BYTES + 2} bytes, more than the 1000000 allowed"
