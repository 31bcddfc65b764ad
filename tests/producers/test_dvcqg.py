"""The national portal payloads mapped onto DossierEvent v1: dates, statuses, derived ids, recipients, paths."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

import pytest

from producers import dvcqg
from producers.dvcqg import PROGRESS, SYNC, AgencyDefaults, MappedItem, map_payload
from schemas.common import VN_TZ, id_proof_hash
from schemas.dossier_event import Status

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=VN_TZ)
DEFAULTS = AgencyDefaults(
    ten_don_vi="Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
    tinh="22",
    tra_cuu_url="https://dichvucong.quangninh.gov.vn/tra-cuu?mhs={ma_ho_so}",
)


def dossier(**fields) -> dict:
    base = {
        "MaHoSo": "000.00.49.H22-261128-0042",
        "MaTTHC": "1.005129",
        "TenTTHC": "Cấp giấy phép xây dựng",
        "KenhThucHien": "1",
        "ChuHoSo": "Nguyễn Thị Lan",
        "SoDienThoai": "0912345678",
        "NgayNopHoSo": "20261127080000",
        "NgayTiepNhan": "20261128090000",
        "NgayHenTra": "20261205170000",
        "TrangThaiHoSo": 2,
        "DonViXuLy": "Sở Xây dựng Quảng Ninh",
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def body(*items: dict, madonvi: str = "000.00.49.H22") -> dict:
    return {"madonvi": madonvi, "isUpdating": "False", "data": list(items)}


def one(item: dict, service: str = SYNC, defaults: AgencyDefaults = DEFAULTS):
    [mapped] = map_payload(body(item), service, defaults, NOW)
    return mapped


def test_dates_are_read_as_vietnam_time_and_written_as_rfc3339_plus_0700():
    parsed = dvcqg.parse_datetime("20261128090000")
    assert parsed.isoformat() == "2026-11-28T09:00:00+07:00"
    event = one(dossier()).event
    assert event.model_dump(mode="json")["data"]["ngay_hen_tra"] == "2026-12-05T17:00:00+07:00"
    assert event.model_dump(mode="json")["occurred_at"] == "2026-11-28T09:00:00+07:00"


@pytest.mark.parametrize("bad", ["2026112809000", "2026-11-28 09:00", "20261332090000", 12, True, None])
def test_a_malformed_date_is_refused(bad):
    with pytest.raises(ValueError, match="yyyyMMddHHmmss"):
        dvcqg.parse_datetime(bad)


def test_a_malformed_date_rejects_the_item_at_its_field_path():
    mapped = one(dossier(NgayHenTra="05/12/2026"))
    assert mapped.event is None
    assert [p.path for p in mapped.problems] == ["data[0].NgayHenTra"]


@pytest.mark.parametrize(
    ("code", "status"),
    [(2, Status.RECEIVED), ("4", Status.IN_PROCESS), (9, Status.RESULT_READY), (10, Status.RESULT_RETURNED)],
)
def test_national_codes_map_to_fine_statuses(code, status):
    event = one(dossier(TrangThaiHoSo=code)).event
    assert event.event_type is status and event.data.trang_thai_dvcqg == int(code)
    assert event.data.trang_thai_label_vi  # the Vietnamese label comes with the status


def test_every_national_code_has_a_default_status_that_fits_it():
    from schemas.dossier_event import DVCQG_CODES

    assert sorted(dvcqg.STATUS_BY_CODE) == list(range(1, 11))
    for code, status in dvcqg.STATUS_BY_CODE.items():
        assert code in DVCQG_CODES[status]


@pytest.mark.parametrize("code", [0, 11, "abc", "", 2.5, [2]])
def test_an_unknown_status_code_is_rejected_with_its_field_path(code):
    mapped = one(dossier(TrangThaiHoSo=code))
    assert mapped.event is None
    assert [p.path for p in mapped.problems] == ["data[0].TrangThaiHoSo"]
    assert "status code" in mapped.problems[0].message


def test_a_fine_status_may_refine_the_code_but_must_fit_it():
    assert one(dossier(TrangThaiHoSo=4, TrangThaiChiTiet="TRANSFERRED")).event.event_type is Status.TRANSFERRED
    mapped = one(dossier(TrangThaiHoSo=2, TrangThaiChiTiet="RESULT_READY"))
    assert [p.path for p in mapped.problems] == ["data[0].TrangThaiChiTiet"]


def test_replaying_a_payload_derives_the_same_event_id_and_sequence():
    first = one(dossier()).event
    again = one(copy.deepcopy(dossier())).event
    assert (first.event_id, first.sequence) == (again.event_id, again.sequence)


def one_at(item: dict, received_at: datetime):
    [mapped] = map_payload(body(item), SYNC, DEFAULTS, received_at)
    return mapped.event


def test_a_later_sync_sorts_after_an_earlier_one_by_arrival_and_has_another_id():
    received = one_at(dossier(), NOW)
    ready = one_at(dossier(TrangThaiHoSo=9, NgayKetThucXuLy="20261128110000"), NOW + timedelta(seconds=1))
    returned = one_at(
        dossier(TrangThaiHoSo=10, NgayKetThucXuLy="20261128110000", NgayTra="20261128113000"),
        NOW + timedelta(seconds=2),
    )
    assert received.sequence < ready.sequence < returned.sequence
    assert len({received.event_id, ready.event_id, returned.event_id}) == 3
    assert ready.occurred_at.isoformat() == "2026-11-28T11:00:00+07:00"


def test_sequence_is_receipt_milliseconds_times_1000_plus_the_place_in_the_request():
    items = map_payload(body(dossier(), dossier(TrangThaiHoSo=4)), SYNC, DEFAULTS, NOW)
    millis = int(NOW.timestamp() * 1000)
    assert [m.event.sequence for m in items] == [millis * 1000, millis * 1000 + 1]


def test_a_status_going_back_with_no_new_date_still_sorts_after_and_keeps_the_id_of_what_it_says():
    """4 → 6 → 4: the second 4 says what the first said; arrival orders it, the id marks it as the same content."""
    first = one_at(dossier(TrangThaiHoSo=4), NOW)
    fee = one_at(dossier(TrangThaiHoSo=6, DanhSachLePhi=[{"Gia": "75000"}]), NOW + timedelta(seconds=1))
    back = one_at(dossier(TrangThaiHoSo=4), NOW + timedelta(seconds=2))
    assert first.sequence < fee.sequence < back.sequence
    assert back.event_id == first.event_id != fee.event_id


def test_an_explicit_update_time_wins_over_the_milestones():
    event = one(dossier(ThoiDiemCapNhat="20261128101500")).event
    assert event.occurred_at.isoformat() == "2026-11-28T10:15:00+07:00"


def test_an_item_without_any_processing_time_is_rejected():
    mapped = one(dossier(NgayNopHoSo=None, NgayTiepNhan=None))
    assert mapped.event is None and mapped.problems[0].path == "data[0]"


def test_a_processing_time_in_the_future_is_rejected():
    mapped = one(dossier(NgayTiepNhan="20261128130000"))
    assert mapped.event is None and "future" in mapped.problems[0].message


def test_owner_and_phone_become_a_recipient_without_consent_by_default():
    [r] = one(dossier()).event.data.nguoi_nhan_thong_bao
    assert (r.ho_ten_hien_thi, r.phone, r.dong_y_zalo) == ("Nguyễn Thị Lan", "84912345678", False)


@pytest.mark.parametrize(("flag", "consent"), [("1", True), (1, True), (True, True), ("0", False), ("false", False)])
def test_explicit_consent_flag_is_honoured(flag, consent):
    [r] = one(dossier(DongYNhanZalo=flag)).event.data.nguoi_nhan_thong_bao
    assert r.dong_y_zalo is consent


def test_agency_that_records_consent_at_intake_defaults_to_consent_but_an_explicit_no_wins():
    consenting = AgencyDefaults(**{**DEFAULTS.__dict__, "zalo_consent_at_intake": True})
    assert one(dossier(), defaults=consenting).event.data.nguoi_nhan_thong_bao[0].dong_y_zalo is True
    assert one(dossier(DongYNhanZalo="0"), defaults=consenting).event.data.nguoi_nhan_thong_bao[0].dong_y_zalo is False


def test_an_unreadable_consent_flag_is_only_a_warning_and_the_agency_rule_applies():
    mapped = one(dossier(DongYNhanZalo="maybe"))
    assert mapped.problems == [] and [p.path for p in mapped.warnings] == ["data[0].DongYNhanZalo"]
    assert mapped.event.data.nguoi_nhan_thong_bao[0].dong_y_zalo is DEFAULTS.zalo_consent_at_intake


def test_a_landline_is_accepted_without_a_recipient_and_with_a_warning():
    mapped = one(dossier(SoDienThoai="02033 123 456"))
    assert mapped.event is not None and mapped.event.data.nguoi_nhan_thong_bao == []
    assert [w.path for w in mapped.warnings] == ["data[0].SoDienThoai"]


def test_a_long_owner_name_is_shortened_to_the_zalo_limit():
    [r] = one(dossier(ChuHoSo="Công ty TNHH Thương mại và Dịch vụ Xây dựng Hạ Long")).event.data.nguoi_nhan_thong_bao
    assert len(r.ho_ten_hien_thi) <= 30 and r.ho_ten_hien_thi.startswith("Công ty TNHH")


def test_identity_numbers_are_not_carried_into_the_event():
    event = one(dossier(SoGiayToChuHoSo="022190001234")).event
    assert "022190001234" not in event.model_dump_json()


def with_key(item: dict) -> MappedItem:
    [mapped] = map_payload(body(item), SYNC, DEFAULTS, NOW, proof_key="agency-shared-proof-key")
    return mapped


@pytest.mark.parametrize(
    "sent",
    [
        {"SoGiayToChuHoSo": "022190001234"},
        {"SoGiayToChuHoSo": " 022 190 001 234 "},  # typed with spaces
        {"SoGiayToChuHoSo": 22190001234},  # a number: the leading zero is gone, the last six digits are not
        {"SoGiayToChuHoSo": "", "DinhDanhCHS": [{"LoaiDinhDanh": "1", "SoDinhDanh": "022190001234"}]},
        {"DinhDanhCHS": [{"LoaiDinhDanh": "", "SoDinhDanh": None}, {"LoaiDinhDanh": 1, "SoDinhDanh": "022190001234"}]},
    ],
)
def test_the_owners_id_number_becomes_the_proof_hash_the_citizen_can_match_with_the_receipt_digits(sent):
    mapped = with_key(dossier(**sent))
    assert mapped.event is not None and not mapped.problems
    code = mapped.event.data.ma_ho_so
    assert mapped.event.data.xac_thuc_hash == id_proof_hash("agency-shared-proof-key", code, "001234")
    assert "001234" not in mapped.event.model_dump_json()


def test_a_short_id_number_is_a_warning_not_a_refusal_and_no_proof_hash():
    mapped = with_key(dossier(SoGiayToChuHoSo="12-34"))
    assert mapped.event is not None and mapped.event.data.xac_thuc_hash is None
    assert [w.path for w in mapped.warnings] == ["data[0].SoGiayToChuHoSo"]


def test_without_a_proof_key_no_hash_is_made():
    assert one(dossier(SoGiayToChuHoSo="022190001234")).event.data.xac_thuc_hash is None


def test_supplement_request_takes_reason_and_documents_from_the_last_round():
    rounds = [
        {
            "NoiDungBoSung": "Thiếu bản vẽ",
            "NgayBoSung": "20261128100000",
            "DanhSachGiayToBoSung": [{"TenGiayTo": "Bản vẽ"}],
        }
    ]
    event = one(dossier(TrangThaiHoSo=5, DanhSachHoSoBoSung=rounds)).event
    assert event.data.ly_do == "Thiếu bản vẽ"
    assert [g.ten for g in event.data.bo_sung.giay_to] == ["Bản vẽ"] and event.data.bo_sung.lan_thu == 1
    assert event.occurred_at.isoformat() == "2026-11-28T10:00:00+07:00"


def test_a_refusal_without_a_written_reason_points_at_ghichu():
    mapped = one(dossier(TrangThaiHoSo=3, NgayTuChoi="20261128093000"))
    assert [p.path for p in mapped.problems] == ["data[0].GhiChu"]
    assert one(dossier(TrangThaiHoSo=3, NgayTuChoi="20261128093000", GhiChu="Sai thẩm quyền")).event is not None


def test_payment_request_sums_the_fees():
    fees = [{"TenPhiLePhi": "Lệ phí", "Gia": "100000"}, {"TenPhiLePhi": "Phí", "Gia": 50000}]
    event = one(dossier(TrangThaiHoSo=6, DanhSachLePhi=fees)).event
    assert event.data.nghia_vu_tai_chinh.tong_tien_vnd == 150000
    assert [p.path for p in one(dossier(TrangThaiHoSo=6)).problems] == ["data[0].DanhSachLePhi"]


def test_result_carries_the_first_result_document_and_postal_delivery():
    results = [{"TenGiayTo": "Giấy phép xây dựng", "DuongDanTepTinKetQua": "https://kq.example.vn/1.pdf"}]
    event = one(
        dossier(TrangThaiHoSo=9, NgayKetThucXuLy="20261128100000", DanhSachGiayToKetQua=results, HinhThuc=1)
    ).event
    assert event.data.ket_qua.ten_giay_to == "Giấy phép xây dựng"
    assert event.data.ket_qua.hinh_thuc_nhan.value == "BUU_CHINH"


def test_profile_fills_the_receiving_agency_place_and_lookup_link():
    event = one(dossier()).event
    assert event.source_system == "000.00.49.H22" == event.data.don_vi_tiep_nhan.ma_dinh_danh
    assert event.data.don_vi_tiep_nhan.ten == DEFAULTS.ten_don_vi and event.data.ma_dvhc.tinh == "22"
    assert event.data.tra_cuu_url.endswith("mhs=000.00.49.H22-261128-0042")


def test_missing_procedure_fields_are_reported_by_their_national_names():
    mapped = one(dossier(MaTTHC=None, TenTTHC=None, KenhThucHien="7"))
    assert sorted(p.path for p in mapped.problems) == ["data[0].KenhThucHien", "data[0].MaTTHC", "data[0].TenTTHC"]


def test_progress_update_uses_its_processing_time_and_department():
    step = dossier(
        TrangThaiHoSo=None,
        ThoiDiemXuLy="20261128103000",
        PhongBanXuLy="Phòng Quản lý xây dựng",
        NgayKetThucTheoQuyDinh="20261130170000",
    )
    event = one(step, PROGRESS).event
    assert event.event_type is Status.IN_PROCESS and event.data.trang_thai_dvcqg == 4
    assert event.occurred_at.isoformat() == "2026-11-28T10:30:00+07:00"
    assert event.data.don_vi_xu_ly.phong_ban == "Phòng Quản lý xây dựng"
    assert event.data.han_buoc_hien_tai.isoformat() == "2026-11-30T17:00:00+07:00"


def test_progress_update_without_processing_time_is_accepted_at_its_receipt_time():
    mapped = one(dossier(TrangThaiHoSo=None), PROGRESS)
    assert mapped.problems == [] and mapped.event.occurred_at == NOW


def test_progress_update_with_an_unreadable_processing_time_is_refused_at_that_field():
    mapped = one(dossier(TrangThaiHoSo=None, ThoiDiemXuLy="28/11/2026"), PROGRESS)
    assert [p.path for p in mapped.problems] == ["data[0].ThoiDiemXuLy"]


def test_a_progress_step_with_only_its_documented_fields_is_a_partial_event():
    step = {
        "MaHoSo": "000.00.49.H22-261128-0042",
        "NguoiXuLy": "Lê Văn Hùng",
        "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": "20261128103000",
        "PhongBanXuLy": "Phòng Quản lý xây dựng",
        "NoiDungXuLy": "Thẩm định hồ sơ",
        "TrangThai": "1",
        "NgayBatDau": "20261128103000",
        "NgayKetThucTheoQuyDinh": "20261130170000",
    }
    mapped = one(step, PROGRESS)
    assert mapped.problems == [], mapped.problems
    event = mapped.event
    assert event.partial and event.data.ma_tthc is None and event.data.don_vi_xu_ly.ten is None
    assert event.data.don_vi_xu_ly.phong_ban == "Phòng Quản lý xây dựng"
    assert event.data.han_buoc_hien_tai.isoformat() == "2026-11-30T17:00:00+07:00"


def test_each_item_is_judged_alone_and_keeps_its_index():
    items = map_payload(body(dossier(), dossier(TrangThaiHoSo=42), "not an object"), SYNC, DEFAULTS, NOW)
    assert [m.event is not None for m in items] == [True, False, False]
    assert [p.path for p in items[1].problems] == ["data[1].TrangThaiHoSo"]
    assert [p.path for p in items[2].problems] == ["data[2]"]


@pytest.mark.parametrize(
    ("envelope", "path"),
    [
        ({"isUpdating": "False", "data": [{}]}, "madonvi"),
        ({"madonvi": "000.00.49.H22", "data": []}, "data"),
        ({"madonvi": "000.00.49.H22", "service": "TraCuuHoSo", "data": [{}]}, "service"),
    ],
)
def test_envelope_problems_name_the_field(envelope, path):
    assert [p.path for p in dvcqg.envelope_problems(envelope, SYNC)] == [path]


def test_envelope_with_session_and_service_is_accepted():
    envelope = {"session": "abc", "service": SYNC, "madonvi": "000.00.49.H22", "isUpdating": "True", "data": [{}]}
    assert dvcqg.envelope_problems(envelope, SYNC) == []


def test_an_unreadable_date_that_is_told_refuses_the_item_but_one_that_is_not_only_warns():
    told = one(dossier(NgayHenTra="05/12/2026"))
    assert [p.path for p in told.problems] == ["data[0].NgayHenTra"]
    untold = one(dossier(NgayBatDau="hôm nay", NgayKetThucTheoQuyDinh="x"))
    assert untold.problems == [] and untold.event is not None
    assert sorted(w.path for w in untold.warnings) == ["data[0].NgayBatDau", "data[0].NgayKetThucTheoQuyDinh"]


def test_a_sync_item_names_every_missing_procedure_field_and_an_item_without_a_code_is_refused_at_mahoso():
    mapped = one(dossier(MaTTHC="", TenTTHC=" ", KenhThucHien=None))
    assert sorted(p.path for p in mapped.problems) == ["data[0].KenhThucHien", "data[0].MaTTHC", "data[0].TenTTHC"]
    assert [p.path for p in one(dossier(MaHoSo="  ")).problems] == ["data[0].MaHoSo"]


def test_a_fee_request_counts_only_what_is_still_due():
    fees = [
        {"Gia": "75.000", "HinhThucThu": "4"},
        {"Gia": "50000", "HinhThucThu": 1},
        {"Gia": 20000, "HinhThucThu": "2", "DaThu": "True"},
        {"Gia": "10,000", "HinhThucThu": ""},
    ]
    event = one(dossier(TrangThaiHoSo="6", DanhSachLePhi=fees)).event
    assert event.data.nghia_vu_tai_chinh.tong_tien_vnd == 85000
    nothing_due = one(dossier(TrangThaiHoSo="6", DanhSachLePhi=[{"Gia": "50000", "HinhThucThu": "1"}]))
    assert [p.path for p in nothing_due.problems] == ["data[0].DanhSachLePhi"]
