"""National-portal payloads, written the way one-stop systems write them, through the adapter and the rules engine.

Each case maps a careless ``DongBoHoSoMC`` item with ``producers.dvcqg`` and feeds the event to the engine, as the
gateway and the worker do, and checks what the citizen is told. Broker-free; tests/producers/test_gateway_national
runs the same paths on the real broker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from producers.dvcqg import PROGRESS, SYNC, AgencyDefaults, map_payload
from schemas.notification import Notification
from tests.streams.engine_helpers import DAY, Run, engine

PROFILE = AgencyDefaults(
    ten_don_vi="Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh",
    tinh="22",
    tra_cuu_url="https://dichvucong.quangninh.gov.vn/tra-cuu?mhs={ma_ho_so}",
)
CODE = "000.00.49.H22-261128-0042"


def item(**fields: Any) -> dict[str, Any]:
    """An ordinary status-2 item as serialisers write it: empty strings, numbers as strings, a spaced phone."""
    base: dict[str, Any] = {
        "MaHoSo": CODE,
        "MaTTHC": "1.005129",
        "TenTTHC": "Cấp giấy phép xây dựng ",
        "KenhThucHien": "2",
        "ChuHoSo": "Nguyễn Thị Lan",
        "SoDienThoai": "+84 912.345.678",
        "DongYNhanZalo": "True",
        "Email": "",
        "GhiChu": "",
        "NgayTuChoi": "",
        "MaDoiTuong": "",
        "NgayNopHoSo": "20261127080000",
        "NgayTiepNhan": "20261128090000",
        "NgayHenTra": "20261205170000",
        "NgayKetThucXuLy": "",
        "NgayTra": None,
        "TrangThaiHoSo": "2",
        "DonViXuLy": "Sở Xây dựng Quảng Ninh",
        "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": None,
        "DanhSachGiayToKetQua": [],
    }
    base.update(fields)
    return base


class Citizen:
    """The gateway and the engine for one dossier: each sync arrives a minute after the last."""

    def __init__(self) -> None:
        self.run = Run(engine())
        self.clock = DAY

    def sync(self, **fields: Any) -> None:
        body = {"madonvi": "000.00.49.H22", "isUpdating": "True", "data": [item(**fields)]}
        [mapped] = map_payload(body, SYNC, PROFILE, self.clock)
        assert mapped.event is not None, mapped.problems
        self.run.receive(mapped.event, self.clock)
        self.run.drain(self.clock + timedelta(seconds=6), step=timedelta(minutes=20))
        self.clock += timedelta(minutes=1)

    def told(self) -> list[str]:
        return self.run.statuses()

    def last(self) -> Notification:
        return self.run.sent[-1]


def said(n: Notification) -> str:
    return n.text + " " + " ".join(n.template_data.values())


def test_received_tells_the_agency_and_the_appointment():
    c = Citizen()
    c.sync()
    assert c.told() == ["RECEIVED"]
    text = said(c.last())
    assert "05/12/2026" in text and CODE in text and "Sở Xây dựng Quảng Ninh" in text
    assert c.last().to.phone == "84912345678"


def test_a_supplement_request_names_every_document():
    c = Citizen()
    c.sync()
    c.sync(
        TrangThaiHoSo="5",
        DanhSachHoSoBoSung=[
            {
                "NoiDungBoSung": "Bổ sung giấy tờ còn thiếu",
                "NgayBoSung": "20261129100000",
                "NgayTiepNhanBoSung": "",
                "DanhSachGiayToBoSung": [
                    {"TenGiayTo": "Bản vẽ thiết kế"},
                    {"TenGiayTo": " Giấy chứng nhận quyền sử dụng đất "},
                    "Bản sao CCCD",
                ],
            }
        ],
    )
    assert c.told() == ["RECEIVED", "SUPPLEMENT_REQUESTED"]
    text = said(c.last())
    for name in ("Bản vẽ thiết kế", "Giấy chứng nhận quyền sử dụng đất", "Bản sao CCCD"):
        assert name in text


def test_a_new_date_in_the_last_round_is_an_apology_with_old_and_new_dates_told_once():
    c = Citizen()
    c.sync()
    late = [{"NgayHenTraTruoc": "20261205170000", "NgayHenTraMoi": "20261212170000", "NoiDungBoSung": ""}]
    c.sync(TrangThaiHoSo="4", DanhSachHoSoBoSung=late)
    c.sync(TrangThaiHoSo="4", DanhSachHoSoBoSung=late, GhiChu="đang thẩm định")  # a later sync still carries it
    assert c.told().count("DUE_DATE_EXTENDED") == 1
    apology = next(n for n in c.run.sent if n.trang_thai and n.trang_thai.value == "DUE_DATE_EXTENDED")
    assert "05/12/2026" in said(apology) and "12/12/2026" in said(apology)
    assert c.run.flags == []


def test_a_received_supplement_is_told_once_from_the_rounds_reception_date():
    c = Citizen()
    c.sync()
    asked = {"NoiDungBoSung": "Thiếu bản vẽ", "NgayBoSung": "20261129100000", "DanhSachGiayToBoSung": ["Bản vẽ"]}
    c.sync(TrangThaiHoSo="5", DanhSachHoSoBoSung=[asked])
    taken = [{**asked, "NgayTiepNhanBoSung": "20261130080000"}]
    c.sync(TrangThaiHoSo="4", DanhSachHoSoBoSung=taken)
    c.sync(TrangThaiHoSo="4", DanhSachHoSoBoSung=taken, GhiChu="chuyển phòng")
    assert c.told().count("SUPPLEMENT_RECEIVED") == 1


def test_2_4_6_4_ends_in_4_with_the_payment_request_told_once_and_only_for_uncollected_fees():
    c = Citizen()
    fees = [
        {"TenPhiLePhi": "Lệ phí cấp phép", "Gia": "75.000", "HinhThucThu": "4"},
        {"TenPhiLePhi": "Phí thẩm định", "Gia": 50000, "HinhThucThu": "1"},  # collected at intake
    ]
    c.sync()
    c.sync(TrangThaiHoSo="4")
    c.sync(TrangThaiHoSo="6", DanhSachLePhi=fees)
    c.sync(TrangThaiHoSo="6", DanhSachLePhi=fees)  # the agency re-syncs with nothing changed
    c.sync(TrangThaiHoSo="4")
    assert c.run.state is not None and c.run.state.trang_thai_dvcqg == 4
    assert c.told().count("PAYMENT_REQUESTED") == 1
    payment = next(n for n in c.run.sent if n.trang_thai and n.trang_thai.value == "PAYMENT_REQUESTED")
    assert "75.000" in said(payment) and "125.000" not in said(payment)


def test_a_change_of_handling_agency_is_a_transfer_and_an_identical_resync_says_nothing():
    c = Citizen()
    c.sync()
    c.sync(TrangThaiHoSo="4", DonViXuLy="Phòng Quản lý đô thị")
    c.sync(TrangThaiHoSo="4", DonViXuLy="Phòng Quản lý đô thị")
    assert c.told() == ["RECEIVED", "TRANSFERRED"]
    assert "duplicate" in c.run.verdicts


def test_result_returned_then_the_survey_invitation():
    c = Citizen()
    c.sync()
    c.sync(
        TrangThaiHoSo="10",
        NgayKetThucXuLy="20261130150000",
        NgayTra="20261130160000",
        HinhThuc="0",
        DanhSachGiayToKetQua=[{"TenGiayTo": "Giấy phép xây dựng", "DuongDanTepTinKetQua": ""}],
    )
    c.run.drain(c.clock + timedelta(hours=3), step=timedelta(hours=1))
    assert c.told() == ["RECEIVED", "RESULT_RETURNED", "SURVEY_INVITED"]
    assert "trả kết quả" in said(c.run.sent[1])


def test_the_authorised_person_is_told_instead_of_the_owner_when_the_dossier_says_so():
    body = {
        "madonvi": "000.00.49.H22",
        "data": [item(UyQuyen="1", SoDienThoaiNguoiUyQuyen="0987 654 321", HoTenNguoiUyQuyen="Trần Văn Minh")],
    }
    [mapped] = map_payload(body, SYNC, PROFILE, DAY)
    [who] = mapped.event.data.nguoi_nhan_thong_bao
    assert (who.vai_tro.value, who.phone, who.ho_ten_hien_thi) == ("NGUOI_UY_QUYEN", "84987654321", "Trần Văn Minh")


def test_a_landline_or_foreign_number_is_a_warning_not_a_refusal():
    for phone in ("0203 3825 123", "+1 650 555 0100"):
        [mapped] = map_payload({"madonvi": "000.00.49.H22", "data": [item(SoDienThoai=phone)]}, SYNC, PROFILE, DAY)
        assert mapped.event is not None and mapped.problems == []
        assert [w.path for w in mapped.warnings] == ["data[0].SoDienThoai"]


def step(**fields: Any) -> dict[str, Any]:
    """A CapNhatTienDoHoSoMC item with only the documented progress fields (vn-egov.md §2.3)."""
    base: dict[str, Any] = {
        "MaHoSo": CODE,
        "NguoiXuLy": "Lê Văn Hùng",
        "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": "20261128103000",
        "PhongBanXuLy": "Phòng Quản lý xây dựng",
        "NoiDungXuLy": "",
        "TrangThai": "1",
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": "20261130170000",
    }
    base.update(fields)
    return base


def progress(c: Citizen, **fields: Any) -> str:
    body = {"madonvi": "000.00.49.H22", "data": [step(**fields)]}
    [mapped] = map_payload(body, PROGRESS, PROFILE, c.clock)
    assert mapped.event is not None and mapped.event.partial, mapped.problems
    out = c.run.receive(mapped.event, c.clock)
    c.clock += timedelta(minutes=1)
    return out.verdict or ""


def test_progress_steps_with_only_their_fields_are_completed_and_give_at_most_one_handled_by_notice():
    c = Citizen()
    c.sync()
    progress(c)
    progress(c, ThoiDiemXuLy="20261128140000", PhongBanXuLy="Phòng Kỹ thuật")
    c.run.drain(c.clock + timedelta(minutes=30), step=timedelta(minutes=20))
    handled = [n for n in c.run.sent if n.trang_thai and n.trang_thai.value in ("IN_PROCESS", "TRANSFERRED")]
    assert len(handled) <= 1 and c.told()[0] == "RECEIVED"
    assert c.run.state is not None and c.run.state.phong_ban == "Phòng Kỹ thuật"
    assert c.run.state.ten_tthc == "Cấp giấy phép xây dựng" and c.run.state.ngay_hen_tra.startswith("2026-12-05")


def test_a_step_before_its_dossier_waits_and_is_applied_after_it():
    c = Citizen()
    assert progress(c) == "waiting"
    assert c.told() == [] and c.run.state is None
    c.sync()
    assert c.told()[0] == "RECEIVED"
    assert c.run.state is not None and c.run.state.phong_ban == "Phòng Quản lý xây dựng"
    assert c.run.hold.waiting == []


def test_a_step_whose_dossier_never_arrives_is_given_up_visibly_after_the_wait():
    c = Citizen()
    progress(c)
    out = c.run.eng.tick(c.run.state, c.run.hold, c.run.followers, c.clock + timedelta(minutes=30))
    assert out.orphaned == []
    out = c.run.eng.tick(c.run.state, c.run.hold, c.run.followers, c.clock + timedelta(hours=1, minutes=1))
    assert [e["data"]["ma_ho_so"] for e in out.orphaned] == [CODE] and out.hold.is_empty()


def test_the_handled_by_notice_names_the_department_and_its_deadline():
    c = Citizen()
    c.sync()
    progress(c)
    c.run.drain(c.clock + timedelta(minutes=30), step=timedelta(minutes=20))
    [handled] = [n for n in c.run.sent if n.trang_thai and n.trang_thai.value == "IN_PROCESS"]
    text = said(handled)
    assert "Sở Xây dựng Quảng Ninh (Phòng Quản lý xây dựng)" in text and "30/11/2026" in text
