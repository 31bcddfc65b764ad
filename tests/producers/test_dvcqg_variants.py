"""Property: every way a one-stop system writes the same valid item is accepted and maps to the same event.

Generated from the documented field lists (vn-egov.md §2.2, §2.3, §8): each optional field is written in each of
its "absent" spellings (missing key, ``""``, whitespace, ``null``, ``[]``), each number as an int or a string,
``isUpdating`` as a string or a bool, phones with spaces, dots or ``+84``, text decomposed (NFD) with stray
spaces and line breaks. The reference is the same item written tidily.
"""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from producers.dvcqg import SYNC, AgencyDefaults, map_payload
from schemas.common import VN_TZ

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=VN_TZ)
PROFILE = AgencyDefaults(
    ten_don_vi="Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
    tinh="22",
    tra_cuu_url="https://dichvucong.quangninh.gov.vn/tra-cuu?mhs={ma_ho_so}",
    zalo_consent_at_intake=True,
)
ROUND = {"NoiDungBoSung": "Thiếu bản vẽ", "NgayBoSung": "20261128100000", "DanhSachGiayToBoSung": ["Bản vẽ"]}
FEE = {"TenPhiLePhi": "Lệ phí cấp phép", "Gia": 75000, "HinhThucThu": 4}
RESULT = {"TenGiayTo": "Giấy phép xây dựng", "MaGiayToKetQua": "GP-01"}

# Tidy items of each status path; variants are generated from these.
TIDY: list[dict[str, Any]] = [
    {"TrangThaiHoSo": 2},
    {"TrangThaiHoSo": 4, "DonViXuLy": "Phòng Quản lý đô thị", "PhongBanXuLy": "Bộ phận cấp phép"},
    {"TrangThaiHoSo": 5, "DanhSachHoSoBoSung": [ROUND]},
    {"TrangThaiHoSo": 4, "DanhSachHoSoBoSung": [{**ROUND, "NgayTiepNhanBoSung": "20261128110000"}]},
    {
        "TrangThaiHoSo": 4,
        "DanhSachHoSoBoSung": [{"NgayHenTraTruoc": "20261205170000", "NgayHenTraMoi": "20261212170000"}],
    },
    {"TrangThaiHoSo": 6, "DanhSachLePhi": [FEE]},
    {"TrangThaiHoSo": 9, "NgayKetThucXuLy": "20261128110000", "DanhSachGiayToKetQua": [RESULT]},
    {"TrangThaiHoSo": 10, "NgayKetThucXuLy": "20261128110000", "NgayTra": "20261128113000", "HinhThuc": 1},
]
COMMON: dict[str, Any] = {
    "MaHoSo": "000.00.49.H22-261128-0042",
    "MaTTHC": "1.005129",
    "TenTTHC": "Cấp giấy phép xây dựng đối với công trình cấp đặc biệt, cấp I, cấp II",
    "KenhThucHien": 2,
    "ChuHoSo": "Nguyễn Thị Lan",
    "SoDienThoai": "0912345678",
    "NgayNopHoSo": "20261127080000",
    "NgayTiepNhan": "20261128090000",
    "NgayHenTra": "20261205170000",
    "DonViXuLy": "Sở Xây dựng Quảng Ninh",
}
OPTIONAL_TEXT = ("GhiChu", "NgayTuChoi", "MaDoiTuong", "Email", "Fax", "TrichYeuHoSo", "SoGiayToChuHoSo", "MaLinhVuc",
                 "TenLinhVuc", "NoiNopHoSo", "NgayKetThucXuLy", "NgayTra", "PhongBanXuLy", "MaDonViXuLy",
                 "DongYNhanZalo", "TrangThaiChiTiet", "ThoiDiemCapNhat")  # fmt: skip
OPTIONAL_LISTS = ("DanhSachLePhi", "DanhSachHoSoBoSung", "DanhSachGiayToKetQua", "DanhSachTepDinhKemKhac",
                  "TaiLieuNop", "DinhDanhCHS", "DSKetNoiCSDL")  # fmt: skip
NUMERIC = ("TrangThaiHoSo", "KenhThucHien", "HinhThuc")
TEXT = ("TenTTHC", "ChuHoSo", "DonViXuLy", "PhongBanXuLy")
MISSING = object()

absent_text = st.sampled_from([MISSING, "", " ", "\t\n", None])
absent_list = st.sampled_from([MISSING, [], None, "", [None], [{}]])


def phones(tidy: str) -> st.SearchStrategy[str]:
    local = tidy[1:]
    return st.sampled_from(
        [tidy, f"{tidy[:4]} {tidy[4:7]} {tidy[7:]}", f"{tidy[:4]}.{tidy[4:7]}.{tidy[7:]}", f"+84 {local}",
         f"+84{local}", f"84{local}", f" {tidy} ", f"(+84) {local[:2]} {local[2:5]} {local[5:]}"]
    )  # fmt: skip


@st.composite
def careless(draw: st.DrawFn, tidy: dict[str, Any]) -> dict[str, Any]:
    """``tidy`` written the way a serialiser might: same meaning, different spelling."""
    out: dict[str, Any] = dict(tidy)
    for name in OPTIONAL_TEXT:
        if name not in tidy:
            value = draw(absent_text)
            if value is not MISSING:
                out[name] = value
    for name in OPTIONAL_LISTS:
        if name not in tidy:
            value = draw(absent_list)
            if value is not MISSING:
                out[name] = value
    for name in NUMERIC:
        if name in tidy:
            out[name] = draw(st.sampled_from([tidy[name], str(tidy[name]), f" {tidy[name]} "]))
    for name in TEXT:
        if name in tidy:
            form = draw(st.sampled_from(["NFC", "NFD"]))
            text = unicodedata.normalize(form, tidy[name])
            pad = draw(st.sampled_from(["", " ", "\n", "  \r\n"]))
            words = text.split(" ")
            if draw(st.booleans()) and len(words) > 2:
                text = " ".join(words[:2]) + draw(st.sampled_from(["  ", "\n", " \t "])) + " ".join(words[2:])
            out[name] = pad + text + pad
    out["SoDienThoai"] = draw(phones(tidy["SoDienThoai"]))
    for name in ("NgayNopHoSo", "NgayTiepNhan", "NgayHenTra"):
        out[name] = draw(st.sampled_from([tidy[name], int(tidy[name]), f" {tidy[name]}"]))
    if "DanhSachLePhi" in tidy:
        out["DanhSachLePhi"] = [
            {**f, "Gia": draw(st.sampled_from([f["Gia"], str(f["Gia"]), "75.000", "75,000", "75000.0"])),
             "HinhThucThu": draw(st.sampled_from([f["HinhThucThu"], str(f["HinhThucThu"])])),
             "MaPhiLePhi": draw(absent_text.filter(lambda v: v is not MISSING))}
            for f in tidy["DanhSachLePhi"]
        ]  # fmt: skip
    return out


@st.composite
def variants(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], Any]:
    tidy = {**COMMON, **draw(st.sampled_from(TIDY))}
    is_updating = draw(st.sampled_from(["True", "False", True, False, "true", "false", None, ""]))
    return tidy, draw(careless(tidy)), is_updating


def event_of(item: dict[str, Any], is_updating: Any = "False") -> dict[str, Any]:
    body = {"madonvi": " 000.00.49.H22 ", "isUpdating": is_updating, "data": [item]}
    [mapped] = map_payload(body, SYNC, PROFILE, NOW)
    assert mapped.event is not None, [p.to_dict() for p in mapped.problems]
    assert mapped.problems == []
    return mapped.event.model_dump(mode="json")


@settings(max_examples=1200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(variants())
def test_every_spelling_of_a_valid_item_is_accepted_and_maps_to_the_same_event(case) -> None:
    tidy, written, is_updating = case
    assert event_of(written, is_updating) == event_of(tidy)


def test_a_procedure_name_of_several_hundred_characters_is_accepted_and_shortened_in_nfc():
    long_name = unicodedata.normalize("NFD", "Cấp giấy phép xây dựng mới đối với công trình cấp đặc biệt " * 15)
    event = event_of({**COMMON, "TrangThaiHoSo": 2, "TenTTHC": long_name})
    name = event["data"]["ten_tthc"]
    assert len(name) <= 500 and name.endswith("…") and unicodedata.is_normalized("NFC", name)
