"""Log lines keep their shape but lose payloads and personal data, at every level (DEBUG included)."""

from __future__ import annotations

import logging

import orjson
import pytest

from hoso import redact
from hosoctl.logscan import scan_text


@pytest.fixture
def captured(caplog):
    redact.install()
    caplog.set_level(logging.DEBUG)
    yield caplog
    redact.uninstall()


def test_faust_style_debug_lines_lose_the_record_but_keep_topic_and_offset(captured):
    value = orjson.dumps({"to": {"phone": "84912345678", "ho_ten_hien_thi": "Trần Văn Minh"}, "cccd": "001203004567"})
    logging.getLogger("faust.topics").debug("send: topic=%r key=%r value=%r offset=%d", "n.v1", b"p:sub-abc", value, 7)
    line = captured.records[-1].getMessage()
    assert "Minh" not in line and "84912345678" not in line
    assert "topic='n.v1'" in line and "offset=7" in line
    assert scan_text(line) == []


@pytest.mark.parametrize(
    "text",
    [
        "calling 0912 345 678 back",
        "phone=+84.912.345.678",
        "citizen 001203004567 asked",
        "form access_token=sim-at-0123456789abcdef0123 refresh_token: abc",
    ],
)
def test_phone_numbers_ids_and_tokens_are_masked_whatever_the_level(captured, text):
    logging.getLogger("anything.at.all").debug(text)
    logging.getLogger("anything.at.all").error("%s", text)
    for record in captured.records[-2:]:
        assert scan_text(record.getMessage(), secrets=["abc"]) == []
