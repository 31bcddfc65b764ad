"""THEO DOI / BO THEO DOI as citizens type them, and the area names they are matched against."""

from __future__ import annotations

import json

import pytest

from hoso.errors import ConfigurationError
from hosoctl.synthetic.reference_data import PROVINCES
from schemas.broadcast import AreaLevel
from streams import areas
from streams.chat_areas import AreaVerb, parse
from streams.chat_commands import Verb
from streams.chat_commands import parse as parse_dossier_command

CATALOGUE = areas.built_in()


def codes(text: str) -> list[str]:
    command = parse(text, CATALOGUE)
    assert command is not None and command.verb is AreaVerb.FOLLOW_AREA, text
    return [a.code for a in command.resolved.areas]


@pytest.mark.parametrize(
    "text",
    [
        "THEO DOI phuong Bai Chay",
        "theo doi bai chay",
        "Theo dõi phường Bãi Cháy",
        "theo dõi  P. Bãi Cháy ạ",
        "THEO DÕI BÃI CHÁY NHÉ",
        "theodoi bai chay",
        "dang ky theo doi phuong bai chay, quang ninh",
        "Theo doi: Bai Chay",
        "theo doi 06658",
    ],
)
def test_a_commune_is_found_however_it_is_typed(text: str) -> None:
    assert codes(text) == ["06658"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("theo doi quang ninh", "22"),
        ("Theo dõi tỉnh Quảng Ninh", "22"),
        ("theo doi TP HCM", "79"),
        ("theo doi thanh pho ho chi minh", "79"),
        ("theo doi ha noi", "01"),
        ("theo doi Hue", "46"),
        ("theo doi 22", "22"),
    ],
)
def test_a_province_is_found_however_it_is_typed(text: str, code: str) -> None:
    assert codes(text) == [code]


def test_a_name_shared_by_a_province_and_a_commune_is_the_province_unless_the_kind_says_otherwise() -> None:
    assert codes("theo doi quang tri") == ["44"]
    assert codes("theo doi phuong quang tri") == ["19363"]
    assert codes("theo doi tinh quang tri") == ["44"]


def test_a_province_named_beside_its_commune_only_says_which_commune_is_meant() -> None:
    assert codes("theo doi xa Tien Yen, Quang Ninh") == ["06925"]
    assert codes("theo doi Bai Chay va Dong Hoi") == ["06658", "15859"]


def test_a_commune_name_in_two_provinces_is_ambiguous_until_the_province_is_named() -> None:
    catalogue = areas.built_in()
    catalogue.add(areas.Area("27001", AreaLevel.COMMUNE, "xã Tân Phú", "75"))
    catalogue.add(areas.Area("29001", AreaLevel.COMMUNE, "xã Tân Phú", "82"))
    unsure = parse("theo doi tan phu", catalogue)
    assert unsure is not None and unsure.resolved.areas == () and len(unsure.resolved.ambiguous[0]) == 2
    sure = parse("theo doi xa tan phu dong thap", catalogue)
    assert sure is not None and [a.code for a in sure.resolved.areas] == ["29001"]


def test_unknown_names_are_reported_not_guessed() -> None:
    command = parse("theo doi xom Bai Chayy", CATALOGUE)
    assert command is not None and command.resolved.areas == () and command.named


def test_a_dossier_code_after_theo_doi_is_left_to_the_dossier_commands() -> None:
    for text in ("theo doi 000.00.49.H22-261128-0001", "THEO DOI 000.00.49.H22 -261128-0001 cam on"):
        assert parse(text, CATALOGUE) is None
        assert parse_dossier_command(text).verb is Verb.FOLLOW
    assert parse("theo doi", CATALOGUE) is None, "a bare THEO DOI keeps the which-code answer"
    assert parse("TC 000.00.49.H22-261128-0001", CATALOGUE) is None


@pytest.mark.parametrize("text", ["BO THEO DOI", "bo theo doi", "Bỏ theo dõi", "bỏ theo dõi tin ạ", "botheodoi"])
def test_bo_theo_doi_alone_stops_all_area_news(text: str) -> None:
    command = parse(text, CATALOGUE)
    assert command is not None and command.verb is AreaVerb.STOP_AREA and command.resolved.areas == ()


def test_stopping_one_area_and_the_older_huy_theo_doi() -> None:
    one = parse("bo theo doi phuong bai chay", CATALOGUE)
    assert one is not None and [a.code for a in one.resolved.areas] == ["06658"]
    named = parse("Hủy theo dõi Bãi Cháy", CATALOGUE)
    assert named is not None and named.verb is AreaVerb.STOP_AREA
    assert parse("Hủy theo dõi", CATALOGUE) is None, "still the dossier stop-all it always was"


def test_the_built_in_communes_are_the_ones_synthetic_traffic_uses() -> None:
    for province in PROVINCES:
        assert CATALOGUE.by_code[province.code].level is AreaLevel.PROVINCE
        for commune in province.communes:
            area = CATALOGUE.by_code[commune.code]
            assert (area.name, area.province) == (commune.full_name, province.code)


def test_a_deployment_loads_the_official_commune_list_and_refuses_a_bad_one(tmp_path) -> None:
    good = tmp_path / "communes.json"
    good.write_text(json.dumps([{"code": "06658", "name": "phường Bãi Cháy", "province": "22"}]), encoding="utf-8")
    loaded = areas.load(str(good))
    assert loaded.province_of("06658") == "22" and loaded.province_of("06652") is None
    assert len([a for a in loaded.by_code.values() if a.level is AreaLevel.PROVINCE]) == 34
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"code": "6658", "name": "Bãi Cháy", "province": "22"}]), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="item 0 needs a 5-digit code"):
        areas.load(str(bad))
    with pytest.raises(ConfigurationError, match="cannot read"):
        areas.load(str(tmp_path / "missing.json"))
