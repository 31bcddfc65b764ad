"""An address a citizen shares through Zalo's information form (``user_submit_info``) places them for area news.

The form's free-text address is typed carelessly (no diacritics, "P."/"Q."/"TP." glued to names, house numbers
and streets in front, pre-2025 districts); it follows exactly the area ``THEO DOI <area>`` would, is refused
politely when no area can be told for sure, and never stores the address, the name or the phone.
"""

from __future__ import annotations

import json

import orjson
import pytest

from schemas.broadcast import AreaLevel
from schemas.common import now_vn, pseudonym
from schemas.zalo_event import ZaloEvent
from streams import areas
from streams import chat_flow as flow

KEY = "test-key"
USER = "5830000000000000001"
POLICY = flow.ChatPolicy(pseudonym_key=KEY, default_oa_id="oa")
NOW = now_vn()
CATALOGUE = areas.built_in()


def placed(address: str, **fields: str) -> list[str]:
    return [a.code for a in CATALOGUE.resolve_address(address, **fields).areas]


@pytest.mark.parametrize(
    ("address", "code"),
    [
        ("P. Ba Đình, Q.Ba Dinh, Hà Nội", "00004"),
        ("so 5 doi can,p.ba dinh,q.ba dinh,ha noi", "00004"),
        ("  Phường   Bãi Cháy ,  TP.Hạ Long , Quảng Ninh ", "06658"),
        ("Bai Chay, Quang Ninh", "06658"),
        ("Tổ 3, khu 5, X. Tiên Yên, H.Tiên Yên, Quảng Ninh", "06925"),
        ("thôn 2, xa tien yen", "06925"),
        ("TT Tiên Yên, huyện Tiên Yên, tỉnh Quảng Ninh", "06925"),
        ("PHUONG DONG HOI", "15859"),
        ("12 Kim Mã, Hà Nội", "01"),
        ("123 Lê Lợi, P.Bến Nghé, Q.1, TP.HCM", "79"),
        ("P.13, Q.Bình Thạnh, TP.HCM", "79"),
        ("TP. Hạ Long, Quảng Ninh", "22"),
        ("ha noi", "01"),
    ],
)
def test_an_address_is_placed_in_its_commune_or_else_its_province(address: str, code: str) -> None:
    assert placed(address) == [code]


@pytest.mark.parametrize(
    "address",
    [
        "",
        "   ",
        "12",
        "22 Trần Hưng Đạo",  # a house number is not province 22
        "so 5 ngo 3 duong Bai Chay",  # a street may carry a commune's name
        "Q.Ba Dinh",  # a district no longer exists, and its name is now one of its several communes'
        "xa thanh hoa",  # a commune the catalogue does not know is not the province of the same name
        "P. Bãi Cháy, Hà Nội",  # a commune and a province that disagree
        "P. Bãi Cháy, P. Đồng Hới",  # two communes
        "Xóm Núi, xã Không Có",
    ],
)
def test_an_address_that_names_no_single_known_area_places_nobody(address: str) -> None:
    assert placed(address) == []


def test_the_forms_separate_fields_are_read_as_what_they_are() -> None:
    assert placed("12 Kim Mã", ward="Phuong Ba Dinh", city="Ha Noi") == ["00004"]
    assert placed("", ward="Bai Chay") == ["06658"]
    assert placed("", city="Thành phố Hồ Chí Minh") == ["79"]
    assert placed("", city="Quang Tri") == ["44"], "the city field is a province, never the commune of that name"
    assert placed("", ward="Quang Tri") == ["19363"], "the ward field is a commune, never the province"


def test_a_commune_the_deployments_catalogue_knows_is_found_without_diacritics(tmp_path) -> None:
    path = tmp_path / "communes.json"
    path.write_text(json.dumps([{"code": "15640", "name": "xã Thanh Hóa", "province": "44"}]), encoding="utf-8")
    catalogue = areas.load(str(path))
    assert [a.code for a in catalogue.resolve_address("thon 1, xa thanh hoa").areas] == ["15640"]
    assert [a.code for a in catalogue.resolve_address("tinh thanh hoa").areas] == ["38"]


def test_a_commune_name_in_two_provinces_asks_for_the_province() -> None:
    catalogue = areas.built_in()
    catalogue.add(areas.Area("27001", AreaLevel.COMMUNE, "xã Tân Phú", "75"))
    catalogue.add(areas.Area("29001", AreaLevel.COMMUNE, "xã Tân Phú", "82"))
    unsure = catalogue.resolve_address("ap 3, xa tan phu")
    assert unsure.areas == () and {a.code for a in unsure.ambiguous[0]} == {"27001", "29001"}
    assert [a.code for a in catalogue.resolve_address("ap 3, xa tan phu, dong thap").areas] == ["29001"]


def test_chat_reading_of_names_is_unchanged_by_district_words() -> None:
    """``THEO DOI huyen Tien Yen`` meant the commune before addresses were read, and still does."""
    assert [a.code for a in CATALOGUE.resolve("huyen tien yen").areas] == ["06925"]
    assert [a.code for a in CATALOGUE.resolve("Q.Ba Dinh").areas] == ["00004"]
    assert [a.code for a in CATALOGUE.resolve("22").areas] == ["22"]


# --- the chat flow ------------------------------------------------------------------------------------


def submitted(info: object, *, audience: dict | None = None, event_id: str = "submit:1") -> flow.ChatResult:
    payload = {"sender": {"id": USER}, "recipient": {"id": "oa"}, "event_name": "user_submit_info", "info": info}
    event = ZaloEvent(
        event_id=event_id,
        event_name="user_submit_info",
        server="OA",
        zalo_user_id=USER,
        oa_id="oa",
        received_at=NOW,
        signature_variant="app_id",
        payload=payload,
    )
    return flow.on_zalo_event(event, contact=None, dossiers=[], policy=POLICY, now=NOW, audience=audience)


def theo_doi(text: str, *, audience: dict | None = None) -> flow.ChatResult:
    payload = {"message": {"msg_id": "1", "text": text}}
    event = ZaloEvent(
        event_id="text:1",
        event_name="user_send_text",
        server="OA",
        zalo_user_id=USER,
        oa_id="oa",
        received_at=NOW,
        signature_variant="app_id",
        payload=payload,
    )
    return flow.on_zalo_event(event, contact=None, dossiers=[], policy=POLICY, now=NOW, audience=audience)


def test_a_shared_address_follows_its_area_exactly_as_theo_doi_would() -> None:
    shared = submitted({"name": "Nguyễn Văn A", "phone": "0912345678", "address": "P. Ba Đình, Q.Ba Dinh, Hà Nội"})
    typed = theo_doi("THEO DOI phuong Ba Dinh")
    assert shared.outcome == "address_area_followed" and shared.audience_change == "area_added"
    assert shared.audience_changed and shared.audience == typed.audience
    assert shared.audience == {
        "zalo_user_id": USER,
        "oa_id": "oa",
        "follows_oa": False,
        "updated_at": NOW.isoformat(),
        "areas": {"00004": "01"},
    }
    [answer] = shared.replies
    assert answer.to.subscriber_id == pseudonym(KEY, "z", USER) and answer.to.zalo_user_id == USER
    assert "Ông/Bà đã được đăng ký nhận tin từ chính quyền về: phường Ba Đình." in answer.text
    assert "BO THEO DOI" in answer.text and answer.text.endswith("Trân trọng cảm ơn Ông/Bà.")
    assert "bạn" not in answer.text.lower()


def test_a_shared_address_adds_to_the_areas_already_chosen_and_keeps_the_oa_follow() -> None:
    before = {"zalo_user_id": USER, "oa_id": "oa", "follows_oa": True, "areas": {"22": "22"}, "updated_at": "x"}
    shared = submitted({"address": "xa tien yen, quang ninh"}, audience=before)
    assert shared.audience is not None and shared.audience["follows_oa"] is True
    assert shared.audience["areas"] == {"22": "22", "06925": "22"}


def test_nothing_shared_is_stored_but_the_areas_code() -> None:
    info = {"name": "Trần Thị Bình", "phone": "0987 654 321", "address": "so 9 ngo 4, P. Ba Đình, Ha Noi"}
    shared = submitted(info)
    stored = orjson.dumps([shared.audience, shared.contact, shared.dossiers]).decode()
    for private in ("Trần Thị Bình", "0987", "987654321", "ngo 4", "so 9", "Ha Noi"):
        assert private not in stored
    assert shared.contact is None and shared.dossier_commands == [] and shared.citizen_commands == []
    text = shared.replies[0].text
    assert "0987" not in text and "ngo 4" not in text, "nothing typed is echoed back"


def test_a_typed_phone_still_proves_nothing_whatever_else_is_shared() -> None:
    with_address = submitted({"phone": "0912345678", "address": "Bai Chay, Quang Ninh"})
    assert "Số điện thoại nhập vào biểu mẫu không được dùng để xác thực chủ hồ sơ." in with_address.replies[0].text
    assert with_address.contact is None and with_address.citizen_commands == []
    without_phone = submitted({"address": "Bai Chay, Quang Ninh"})
    assert "Số điện thoại" not in without_phone.replies[0].text
    phone_only = submitted({"name": "A", "phone": "0912345678", "address": ""})
    assert phone_only.outcome == "phone_not_proof" and not phone_only.audience_changed
    assert "không được dùng để xác thực" in phone_only.replies[0].text


@pytest.mark.parametrize(
    "info",
    [
        {"address": "xa khong co that"},
        {"address": "12"},
        {"address": "so 5 duong Bai Chay"},
        {"address": "   ", "district": "Quận Ba Đình"},
        {"address": "P. Bãi Cháy, Hà Nội"},
    ],
)
def test_an_address_naming_no_known_area_is_answered_with_how_to_choose_by_chat(info: dict) -> None:
    result = submitted({"phone": "", **info})
    assert result.outcome == "address_unknown" and result.audience_change == "area_unknown"
    assert not result.audience_changed and result.audience is None
    [answer] = result.replies
    assert "Chưa xác định được xã, phường hoặc tỉnh, thành phố từ địa chỉ Ông/Bà cung cấp." in answer.text
    assert "đề nghị Ông/Bà gửi: THEO DOI <tên xã, phường hoặc tỉnh>" in answer.text
    assert "Ví dụ: THEO DOI phường Hạ Long" in answer.text


def test_an_address_in_a_commune_several_provinces_share_lists_them() -> None:
    catalogue = areas.built_in()
    catalogue.add(areas.Area("27001", AreaLevel.COMMUNE, "xã Tân Phú", "75"))
    catalogue.add(areas.Area("29001", AreaLevel.COMMUNE, "xã Tân Phú", "82"))
    policy = flow.ChatPolicy(pseudonym_key=KEY, default_oa_id="oa", areas=catalogue)
    event = ZaloEvent(
        event_id="submit:2",
        event_name="user_submit_info",
        server="OA",
        zalo_user_id=USER,
        oa_id="oa",
        received_at=NOW,
        signature_variant="app_id",
        payload={"info": {"address": "ap 3, xa tan phu"}},
    )
    result = flow.on_zalo_event(event, contact=None, dossiers=[], policy=policy, now=NOW)
    text = result.replies[0].text
    assert result.outcome == "address_unknown" and "xã Tân Phú, tỉnh Đồng Nai; xã Tân Phú, tỉnh Đồng Tháp" in text
    assert "Ví dụ: THEO DOI xã Tân Phú, tỉnh Đồng Nai" in text


@pytest.mark.parametrize("info", [None, "P. Ba Đình", [], {"address": None}, {"address": 12345}, {}])
def test_a_form_without_usable_fields_is_answered_not_crashed_on(info: object) -> None:
    result = submitted(info)
    assert len(result.replies) == 1 and not result.audience_changed
