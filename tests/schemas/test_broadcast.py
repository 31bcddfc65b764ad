"""The Broadcast request: area code fits the level, text composed and bounded, emergency only."""

from __future__ import annotations

import unicodedata

import pytest

from schemas import validate
from schemas.broadcast import AreaLevel, Broadcast, level_of
from schemas.topics import catalogue


def request(**changes):
    return {
        "broadcast_id": "bc-2026-bao-so-9",
        "area_level": "PROVINCE",
        "area_code": "22",
        "text": "Bão số 9 đổ bộ Quảng Ninh đêm nay. Người dân không ra khơi.",
        "issued_by": "Ban Chỉ huy PCTT tỉnh Quảng Ninh",
        "issued_at": "2026-11-28T10:00:00+07:00",
        **changes,
    }


def test_a_valid_request_is_emergency_priority():
    b, problems = validate(Broadcast, request())
    assert not problems and b is not None and b.priority == "EMERGENCY"


def test_the_area_code_must_fit_the_level():
    _, problems = validate(Broadcast, request(area_level="COMMUNE", area_code="22"))
    assert problems and "not a commune code" in problems[0].message
    assert level_of("06652") is AreaLevel.COMMUNE and level_of("22") is AreaLevel.PROVINCE
    with pytest.raises(ValueError):
        level_of("123")


def test_text_is_composed_to_nfc_before_its_2000_limit():
    nfd = unicodedata.normalize("NFD", "ệ" * 1500)
    assert len(nfd) > 2000
    b, problems = validate(Broadcast, request(text=nfd))
    assert not problems and b is not None and b.text == "ệ" * 1500
    _, problems = validate(Broadcast, request(text="a" * 2001))
    assert problems and problems[0].path == "text"


def test_the_broadcast_topic_has_the_dossier_partition_count():
    topics = catalogue("hoso", 12, "app")
    assert topics.broadcasts.partitions == topics.dossier_events.partitions == 12
    assert topics.lifecycle_ticks.partitions == 12 and topics.dossier_hold_changelog.partitions == 12
    assert topics.dossier_hold_changelog.personal_data and topics.dossier_hold_changelog.cleanup_policy == "compact"
