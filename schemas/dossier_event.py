"""DossierEvent v1: one state change of one administrative dossier, as an agency system reports it.

The shape follows the proposal in the project's e-government notes (§7): an envelope that makes events
idempotent (``event_id``) and orderable per dossier (``sequence``), and a payload whose fields map one to
one onto the national portal's ``DongBoHoSoMC`` names, so an adapter from the national sync format is a
rename rather than a translation.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from schemas.common import Name30, Phone, Text50, Text64, Text200, Text400, Text500, Text1000, Url, VnDateTime
from schemas.problems import Problem

SCHEMA_VERSION = "1.0"


class Status(StrEnum):
    """Fine-grained dossier status; also the event type of the transition into it."""

    SUBMITTED = "SUBMITTED"
    RECEIVED = "RECEIVED"
    REJECTED_AT_INTAKE = "REJECTED_AT_INTAKE"
    TRANSFERRED = "TRANSFERRED"
    IN_PROCESS = "IN_PROCESS"
    SUPPLEMENT_REQUESTED = "SUPPLEMENT_REQUESTED"
    SUPPLEMENT_RECEIVED = "SUPPLEMENT_RECEIVED"
    PAYMENT_REQUESTED = "PAYMENT_REQUESTED"
    PAID = "PAID"
    DUE_DATE_EXTENDED = "DUE_DATE_EXTENDED"
    OVERDUE = "OVERDUE"
    WITHDRAWAL_REQUESTED = "WITHDRAWAL_REQUESTED"
    STOPPED = "STOPPED"
    RESULT_READY = "RESULT_READY"
    RESULT_RETURNED = "RESULT_RETURNED"
    SURVEY_INVITED = "SURVEY_INVITED"
    SURVEY_SUBMITTED = "SURVEY_SUBMITTED"


STATUS_LABEL_VI: dict[Status, str] = {
    Status.SUBMITTED: "Đã nộp hồ sơ (chờ tiếp nhận)",
    Status.RECEIVED: "Đã tiếp nhận hồ sơ",
    Status.REJECTED_AT_INTAKE: "Không được tiếp nhận",
    Status.TRANSFERRED: "Đã chuyển xử lý",
    Status.IN_PROCESS: "Đang xử lý",
    Status.SUPPLEMENT_REQUESTED: "Yêu cầu bổ sung, hoàn thiện hồ sơ",
    Status.SUPPLEMENT_RECEIVED: "Đã nhận hồ sơ bổ sung",
    Status.PAYMENT_REQUESTED: "Yêu cầu thực hiện nghĩa vụ tài chính",
    Status.PAID: "Đã thanh toán phí, lệ phí",
    Status.DUE_DATE_EXTENDED: "Xin lỗi và hẹn lại ngày trả kết quả",
    Status.OVERDUE: "Quá hạn xử lý",
    Status.WITHDRAWAL_REQUESTED: "Công dân yêu cầu rút hồ sơ",
    Status.STOPPED: "Dừng giải quyết hồ sơ",
    Status.RESULT_READY: "Đã có kết quả, mời nhận kết quả",
    Status.RESULT_RETURNED: "Đã trả kết quả",
    Status.SURVEY_INVITED: "Mời đánh giá mức độ hài lòng",
    Status.SURVEY_SUBMITTED: "Đã đánh giá",
}

# National TrangThaiHoSo codes each fine status may carry. "Unchanged" transitions (paid, apology,
# overdue) keep whatever in-progress code the dossier had, so they allow several.
_IN_PROGRESS = frozenset({2, 4, 5, 6})
DVCQG_CODES: dict[Status, frozenset[int]] = {
    Status.SUBMITTED: frozenset({1}),
    Status.RECEIVED: frozenset({2}),
    Status.REJECTED_AT_INTAKE: frozenset({3}),
    Status.TRANSFERRED: frozenset({4}),
    Status.IN_PROCESS: frozenset({4}),
    Status.SUPPLEMENT_REQUESTED: frozenset({5}),
    Status.SUPPLEMENT_RECEIVED: frozenset({4}),
    Status.PAYMENT_REQUESTED: frozenset({6}),
    Status.PAID: _IN_PROGRESS,
    Status.DUE_DATE_EXTENDED: _IN_PROGRESS,
    Status.OVERDUE: _IN_PROGRESS,
    Status.WITHDRAWAL_REQUESTED: frozenset({7}),
    Status.STOPPED: frozenset({8}),
    Status.RESULT_READY: frozenset({9}),
    Status.RESULT_RETURNED: frozenset({10}),
    Status.SURVEY_INVITED: frozenset({10}),
    Status.SURVEY_SUBMITTED: frozenset({10}),
}

# Outcomes the law requires to be explained in writing (NĐ 61/2018, NĐ 118/2025).
REASON_REQUIRED = frozenset(
    {
        Status.REJECTED_AT_INTAKE,
        Status.SUPPLEMENT_REQUESTED,
        Status.STOPPED,
        Status.WITHDRAWAL_REQUESTED,
        Status.DUE_DATE_EXTENDED,
    }
)
TERMINAL = frozenset({Status.REJECTED_AT_INTAKE, Status.STOPPED, Status.RESULT_RETURNED, Status.SURVEY_SUBMITTED})


class LegalBasis(StrEnum):
    """Which one-stop decree the dossier is handled under (form numbering differs)."""

    ND61_2018 = "ND61_2018"
    ND118_2025 = "ND118_2025"


class OriginChannel(StrEnum):
    """Where the dossier was created; lets provinces avoid notifying twice what VNeID already told."""

    MOT_CUA_TINH = "MOT_CUA_TINH"
    DVCQG = "DVCQG"
    VNEID = "VNEID"
    BO_NGANH = "BO_NGANH"
    BCCI = "BCCI"


class Channel(IntEnum):
    """KenhThucHien: how the citizen lodged the dossier."""

    TRUC_TIEP = 1
    TRUC_TUYEN = 2
    BUU_CHINH = 3


class RecipientRole(StrEnum):
    """Owner of the dossier or the person authorised to act for them."""

    CHU_HO_SO = "CHU_HO_SO"
    NGUOI_UY_QUYEN = "NGUOI_UY_QUYEN"


class ResultDelivery(StrEnum):
    """How the result reaches the citizen."""

    TRUC_TIEP = "TRUC_TIEP"
    BUU_CHINH = "BUU_CHINH"
    DIEN_TU = "DIEN_TU"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


AgencyCode = Annotated[str, StringConstraints(min_length=2, max_length=32, pattern=r"^[A-Za-z0-9.\-_]+$")]
DossierCode = Annotated[str, StringConstraints(min_length=1, max_length=50, pattern=r"^[^\s]+$")]


class Agency(_Strict):
    """An agency by its electronic identifier code (QĐ 20/2020) and display name."""

    ma_dinh_danh: AgencyCode
    ten: Text200 | None = None
    """Required except in a partial event, whose handling agency the streams take from the dossier's state."""
    phong_ban: Text200 | None = None


class AdminArea(_Strict):
    """Place of handling: province (2 digits) and commune (5 digits) in a named code catalogue."""

    tinh: Annotated[str, StringConstraints(pattern=r"^\d{2}$")]
    xa: Annotated[str, StringConstraints(pattern=r"^\d{5}$")] | None = None
    catalog: Text64 = "QD19-2025"


class MissingDocument(_Strict):
    """One item a supplement request asks for."""

    ten: Text500
    ma_thanh_phan: Text64 | None = None
    ghi_chu: Text500 | None = None


class Supplement(_Strict):
    """A supplement request; the law allows only one per dossier, so ``lan_thu`` > 1 is a compliance flag."""

    lan_thu: int = Field(ge=1, le=100)
    han_bo_sung: VnDateTime | None = None
    giay_to: list[MissingDocument] = Field(min_length=1, max_length=100)


class Extension(_Strict):
    """An apology with a new appointment date; only one re-appointment is allowed."""

    lan_thu: int = Field(ge=1, le=100)
    ngay_hen_tra_moi: VnDateTime
    van_ban_url: Url | None = None


class Payment(_Strict):
    """Fees or taxes the citizen must pay."""

    tong_tien_vnd: int = Field(ge=0, le=10**15)
    han_nop: VnDateTime | None = None
    link_thanh_toan: Url | None = None


class Result(_Strict):
    """The decision or document the dossier produced."""

    ma_ket_qua: Text64 | None = None
    ten_giay_to: Text500
    link: Url | None = None
    hinh_thuc_nhan: ResultDelivery = ResultDelivery.TRUC_TIEP


class Recipient(_Strict):
    """A person to notify; ``dong_y_zalo`` is their recorded consent to Zalo messages.

    ``dong_y_sms`` is their separate consent to an SMS when Zalo cannot reach them (the one-stop systems keep
    a per-dossier ``ThongBaoSMS`` flag); absent means no: nobody is texted on an assumption.
    """

    vai_tro: RecipientRole = RecipientRole.CHU_HO_SO
    ho_ten_hien_thi: Name30
    phone: Phone | None = None
    zalo_user_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    dong_y_zalo: bool
    dong_y_luc: VnDateTime | None = None
    dong_y_sms: bool = False


class DossierData(_Strict):
    """The dossier as it stands after the transition (DVCQG names in the field docs)."""

    ma_ho_so: DossierCode
    ma_ho_so_khac: Text50 | None = None
    ma_tthc: Text64 | None = None
    ten_tthc: Text500 | None = None
    """``ma_tthc``, ``ten_tthc``, ``kenh_thuc_hien`` are required except in a partial event (``rule_problems``)."""
    ma_linh_vuc: Text64 | None = None
    kenh_thuc_hien: Channel | None = None
    trang_thai_dvcqg: int = Field(ge=1, le=10)
    trang_thai: Status
    trang_thai_label_vi: Text200
    don_vi_tiep_nhan: Agency
    don_vi_xu_ly: Agency
    ma_dvhc: AdminArea
    ngay_nop_ho_so: VnDateTime | None = None
    ngay_tiep_nhan: VnDateTime | None = None
    ngay_hen_tra: VnDateTime | None = None
    ngay_hen_tra_truoc: VnDateTime | None = None
    ngay_ket_thuc_xu_ly: VnDateTime | None = None
    ngay_tra: VnDateTime | None = None
    han_buoc_hien_tai: VnDateTime | None = None
    ly_do: Text1000 | None = None
    bo_sung: Supplement | None = None
    gia_han: Extension | None = None
    nghia_vu_tai_chinh: Payment | None = None
    ket_qua: Result | None = None
    van_ban_url: Url | None = None
    tra_cuu_url: Url
    danh_gia_url: Url | None = None
    nguoi_nhan_thong_bao: list[Recipient] = Field(default_factory=list, max_length=10)
    chu_ho_so_dinh_danh_hash: Annotated[str, StringConstraints(max_length=128)] | None = None
    xac_thuc_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")] | None = None
    """HMAC-SHA256(key shared with hoso, "<ma_ho_so>|<last 6 digits of the ID document>") in hex: lets the owner
    prove the dossier is theirs in chat with the digits printed on the receipt, without the number in clear."""
    noi_dung_hien_thi: Text400 | None = None


class DossierEvent(_Strict):
    """Envelope + payload. Keyed by ``data.ma_ho_so`` on Kafka; ``sequence`` increases per dossier."""

    event_id: UUID
    event_type: Status
    schema_version: Literal["1.0"] = SCHEMA_VERSION
    legal_basis: LegalBasis = LegalBasis.ND118_2025
    occurred_at: VnDateTime
    emitted_at: VnDateTime
    source_system: AgencyCode
    origin_channel: OriginChannel = OriginChannel.MOT_CUA_TINH
    sequence: int = Field(ge=0, le=2**63 - 1)
    correlation_id: Annotated[str, StringConstraints(max_length=128)] | None = None
    partial: bool | None = None
    """Only what one processing step says (a ``CapNhatTienDoHoSoMC`` item): the streams complete the procedure,
    channel, handling agency and appointment from the dossier's stored state before any rule runs, and hold the
    step (bounded) until the dossier itself has arrived."""
    data: DossierData

    @property
    def key(self) -> str:
        """The Kafka key: every event of one dossier lands on one partition, in order."""
        return self.data.ma_ho_so


def rule_problems(event: DossierEvent) -> list[Problem]:
    """Cross-field rules the field types cannot express; every broken rule is reported."""
    d = event.data
    problems: list[Problem] = []
    if d.trang_thai != event.event_type:
        problems.append(Problem("data.trang_thai", f"must equal event_type {event.event_type.value}"))
    if not event.partial:
        required = {
            "data.ma_tthc": d.ma_tthc,
            "data.ten_tthc": d.ten_tthc,
            "data.kenh_thuc_hien": d.kenh_thuc_hien,
            "data.don_vi_xu_ly.ten": d.don_vi_xu_ly.ten,
            "data.don_vi_tiep_nhan.ten": d.don_vi_tiep_nhan.ten,
        }
        problems += [
            Problem(path, "is required (only a partial event may leave it out)")
            for path, v in required.items()
            if v is None
        ]
    allowed = DVCQG_CODES[d.trang_thai]
    if d.trang_thai_dvcqg not in allowed:
        codes = ", ".join(str(c) for c in sorted(allowed))
        problems.append(
            Problem(
                "data.trang_thai_dvcqg",
                f"{d.trang_thai_dvcqg} does not fit {d.trang_thai.value} (allowed: {codes})",
            )
        )
    if d.trang_thai in REASON_REQUIRED and not d.ly_do:
        problems.append(Problem("data.ly_do", f"a written reason is required for {d.trang_thai.value}"))
    if d.trang_thai is Status.SUPPLEMENT_REQUESTED and d.bo_sung is None:
        problems.append(Problem("data.bo_sung", "the list of missing documents is required for SUPPLEMENT_REQUESTED"))
    if d.trang_thai is Status.DUE_DATE_EXTENDED:
        if d.gia_han is None:
            problems.append(Problem("data.gia_han", "the new appointment date is required for DUE_DATE_EXTENDED"))
        if d.ngay_hen_tra_truoc is None:
            problems.append(Problem("data.ngay_hen_tra_truoc", "the previous appointment date is required"))
    if d.trang_thai is Status.SURVEY_INVITED and d.danh_gia_url is None:
        problems.append(Problem("data.danh_gia_url", "the survey link is required for SURVEY_INVITED"))
    if d.trang_thai is Status.PAYMENT_REQUESTED and d.nghia_vu_tai_chinh is None:
        problems.append(Problem("data.nghia_vu_tai_chinh", "the amount is required for PAYMENT_REQUESTED"))
    for i, r in enumerate(d.nguoi_nhan_thong_bao):
        if r.dong_y_zalo and r.phone is None and r.zalo_user_id is None:
            problems.append(
                Problem(
                    f"data.nguoi_nhan_thong_bao[{i}]",
                    "a consenting recipient needs a phone or a zalo_user_id",
                )
            )
    if event.emitted_at < event.occurred_at.replace(microsecond=0) and (
        (event.occurred_at - event.emitted_at).total_seconds() > 300
    ):
        problems.append(Problem("emitted_at", "is more than 5 minutes before occurred_at"))
    return problems
