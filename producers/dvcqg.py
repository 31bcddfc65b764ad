"""The national portal's sync payloads (``DongBoHoSoMC``, ``CapNhatTienDoHoSoMC``) mapped onto DossierEvent v1.

Provincial one-stop systems already send these payloads to Cổng DVCQG; accepting them unchanged is what lets an
agency adopt hoso without writing a Kafka client. The national format has no ``event_id`` or ``sequence`` and
only a coarse status code, so this module derives them deterministically from the payload (the same payload,
replayed, maps to the same event, which the streams drop as a duplicate). Pure functions, no I/O; every problem
is reported with its path in the agency's own terms (``data[2].TrangThaiHoSo``). The rules are written out in
docs/gateway.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from schemas.codec import check_event
from schemas.common import VN_TZ, iso_vn, normalize_phone
from schemas.dossier_event import DVCQG_CODES, SCHEMA_VERSION, STATUS_LABEL_VI, DossierEvent, Status
from schemas.problems import Problem

SYNC = "DongBoHoSoMC"
PROGRESS = "CapNhatTienDoHoSoMC"
SERVICES = (SYNC, PROGRESS)

EVENT_NAMESPACE = uuid.UUID("6f1d1c52-4a8e-5b0c-9d39-3c0a2f6f7e11")
"""uuid5 namespace of event ids derived from national payloads (fixed forever: replays depend on it)."""

STATUS_BY_CODE: dict[int, Status] = {
    1: Status.SUBMITTED,
    2: Status.RECEIVED,
    3: Status.REJECTED_AT_INTAKE,
    4: Status.IN_PROCESS,
    5: Status.SUPPLEMENT_REQUESTED,
    6: Status.PAYMENT_REQUESTED,
    7: Status.WITHDRAWAL_REQUESTED,
    8: Status.STOPPED,
    9: Status.RESULT_READY,
    10: Status.RESULT_RETURNED,
}
"""Default fine status of each ``TrangThaiHoSo``; the extension field ``TrangThaiChiTiet`` may refine it."""

SEQUENCE_SLOTS = 100
"""sequence = epoch milliseconds x 100 + TrangThaiHoSo: time orders events, the code breaks ties."""

MAX_FUTURE = timedelta(minutes=5)
MILESTONES = ("NgayNopHoSo", "NgayTiepNhan", "NgayTuChoi", "NgayKetThucXuLy", "NgayTra")
ROUND_MILESTONES = ("NgayBoSung", "NgayTiepNhanBoSung")
_TRUE = {True, "1", "true", "True", "TRUE", "yes", "co", "có"}
_FALSE = {False, "0", "false", "False", "FALSE", "no", "khong", "không"}

# Where each DossierEvent field comes from, so validation problems point at the agency's field.
_SOURCE_OF: tuple[tuple[str, str], ...] = (
    ("data.ma_ho_so", "MaHoSo"),
    ("data.ma_tthc", "MaTTHC"),
    ("data.ten_tthc", "TenTTHC"),
    ("data.ma_linh_vuc", "MaLinhVuc"),
    ("data.kenh_thuc_hien", "KenhThucHien"),
    ("data.trang_thai_dvcqg", "TrangThaiHoSo"),
    ("data.don_vi_xu_ly.ma_dinh_danh", "MaDonViXuLy"),
    ("data.don_vi_xu_ly.phong_ban", "PhongBanXuLy"),
    ("data.don_vi_xu_ly", "DonViXuLy"),
    ("data.ly_do", "GhiChu"),
    ("data.bo_sung", "DanhSachHoSoBoSung"),
    ("data.nghia_vu_tai_chinh", "DanhSachLePhi"),
    ("data.ket_qua", "DanhSachGiayToKetQua"),
    ("data.gia_han", "NgayHenTraMoi"),
    ("data.ngay_hen_tra_truoc", "NgayHenTraTruoc"),
    ("data.han_buoc_hien_tai", "NgayKetThucTheoQuyDinh"),
    ("data.ngay_nop_ho_so", "NgayNopHoSo"),
    ("data.ngay_tiep_nhan", "NgayTiepNhan"),
    ("data.ngay_hen_tra", "NgayHenTra"),
    ("data.ngay_ket_thuc_xu_ly", "NgayKetThucXuLy"),
    ("data.ngay_tra", "NgayTra"),
    ("data.nguoi_nhan_thong_bao[0].phone", "SoDienThoai"),
    ("data.nguoi_nhan_thong_bao", "ChuHoSo"),
)
_AGENCY_LEVEL = ("source_system", "data.don_vi_tiep_nhan")


@dataclass(frozen=True)
class AgencyDefaults:
    """What an agency's profile supplies that the national payload lacks (from the gateway keys file)."""

    ten_don_vi: str
    """Display name of the receiving agency (``don_vi_tiep_nhan.ten``)."""
    tinh: str
    """Two-digit province code of the place of handling."""
    tra_cuu_url: str
    """Lookup link for citizens; ``{ma_ho_so}`` is replaced by the dossier code."""
    xa: str | None = None
    zalo_consent_at_intake: bool = False
    """True only if this agency records Zalo consent at intake for every citizen who gives a phone."""


@dataclass
class MappedItem:
    """One ``data[i]`` item: the event it became, or the problems that kept it out (paths in payload terms)."""

    index: int
    event: DossierEvent | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def parse_datetime(value: Any) -> datetime:
    """``yyyyMMddHHmmss`` in Asia/Ho_Chi_Minh (UTC+7 all year) as an aware datetime; ValueError if malformed."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else None
    if text is None or len(text) != 14 or not text.isdigit():
        raise ValueError(f"expected yyyyMMddHHmmss (14 digits, Vietnam time), got {value!r}")
    try:
        return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=VN_TZ)
    except ValueError:
        raise ValueError(f"{value!r} is not a real date and time (yyyyMMddHHmmss)") from None


def status_code(value: Any) -> int:
    """``TrangThaiHoSo`` as an int 1..10; ValueError otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"unknown status code {value!r} (expected 1..10)")
    text = str(value).strip()
    if not text.isdigit() or int(text) not in STATUS_BY_CODE:
        raise ValueError(f"unknown status code {value!r} (expected one of the national codes 1..10)")
    return int(text)


def sequence_of(occurred_at: datetime, code: int) -> int:
    """The per-dossier sequence derived from the processing time (ms since epoch) and the status code."""
    return int(occurred_at.timestamp() * 1000) * SEQUENCE_SLOTS + code


def event_id_of(ma_ho_so: str, code: int, status: Status, occurred_at: datetime) -> uuid.UUID:
    """A UUID that only depends on (dossier, status, processing time): a replayed payload gets the same id."""
    millis = int(occurred_at.timestamp() * 1000)
    return uuid.uuid5(EVENT_NAMESPACE, f"{ma_ho_so}|{code}|{status.value}|{millis}")


def envelope_problems(body: Any, service: str) -> list[Problem]:
    """Problems with the request envelope ``{madonvi, isUpdating, data: [...]}`` (session and service optional)."""
    if not isinstance(body, dict):
        return [Problem("", f"expected a JSON object {{madonvi, isUpdating, data}}, got {type(body).__name__}")]
    problems = []
    if not isinstance(body.get("madonvi"), str) or not body["madonvi"].strip():
        problems.append(Problem("madonvi", "the agency identifier code is required"))
    if body.get("isUpdating", "False") not in ("True", "False", True, False):
        problems.append(Problem("isUpdating", 'must be "True" or "False"'))
    if body.get("service") not in (None, service):
        problems.append(Problem("service", f"this endpoint takes {service}, not {body.get('service')!r}"))
    data = body.get("data")
    if not isinstance(data, list) or not data:
        problems.append(Problem("data", "a non-empty list of dossier objects is required"))
    return problems


def map_payload(body: Mapping[str, Any], service: str, defaults: AgencyDefaults, now: datetime) -> list[MappedItem]:
    """Map every ``data[i]`` of a valid envelope (see ``envelope_problems``) to a validated DossierEvent."""
    madonvi = str(body["madonvi"]).strip()
    return [_map_item(i, item, service, madonvi, defaults, now) for i, item in enumerate(body["data"])]


def _map_item(index: int, item: Any, service: str, madonvi: str, defaults: AgencyDefaults, now: datetime) -> MappedItem:
    out = MappedItem(index)
    at = f"data[{index}]"
    if not isinstance(item, dict):
        out.problems.append(Problem(at, f"expected a dossier object, got {type(item).__name__}"))
        return out
    dates: dict[str, datetime] = {}
    for name in (*MILESTONES, "NgayHenTra", "NgayHenTraTruoc", "NgayHenTraMoi", "ThoiDiemXuLy", "ThoiDiemCapNhat"):
        _date_field(item, name, f"{at}.{name}", dates, out.problems)
    for name in ("NgayBatDau", "NgayKetThucTheoQuyDinh"):
        _date_field(item, name, f"{at}.{name}", dates, out.problems)
    rounds = item.get("DanhSachHoSoBoSung") or []
    if not isinstance(rounds, list):
        out.problems.append(Problem(f"{at}.DanhSachHoSoBoSung", "must be a list of supplement rounds"))
        rounds = []
    round_dates: list[dict[str, datetime]] = []
    for j, r in enumerate(rounds):
        found: dict[str, datetime] = {}
        if isinstance(r, dict):
            for name in (*ROUND_MILESTONES, "NgayHenTraTruoc", "NgayHenTraMoi"):
                _date_field(r, name, f"{at}.DanhSachHoSoBoSung[{j}].{name}", found, out.problems)
        round_dates.append(found)

    code, status = _status(item, at, service, out.problems)
    occurred_at = _occurred_at(item, at, service, dates, round_dates, out.problems)
    if occurred_at is not None and occurred_at > now + MAX_FUTURE:
        out.problems.append(Problem(at, f"processing time {iso_vn(occurred_at)} lies in the future"))
    recipients = _recipients(item, at, defaults, out)
    if out.problems or code is None or status is None or occurred_at is None:
        return out

    ma_ho_so = str(item.get("MaHoSo", "")).strip()
    last_round = rounds[-1] if rounds and isinstance(rounds[-1], dict) else {}
    last_round_dates = round_dates[-1] if round_dates else {}
    data: dict[str, Any] = {
        "ma_ho_so": ma_ho_so,
        "ma_tthc": item.get("MaTTHC"),
        "ten_tthc": item.get("TenTTHC"),
        "kenh_thuc_hien": _int_or_raw(item.get("KenhThucHien")),
        "trang_thai_dvcqg": code,
        "trang_thai": status.value,
        "trang_thai_label_vi": STATUS_LABEL_VI[status],
        "don_vi_tiep_nhan": {"ma_dinh_danh": madonvi, "ten": defaults.ten_don_vi},
        "don_vi_xu_ly": {
            "ma_dinh_danh": item.get("MaDonViXuLy") or madonvi,
            "ten": item.get("DonViXuLy") or defaults.ten_don_vi,
            "phong_ban": item.get("PhongBanXuLy"),
        },
        "ma_dvhc": {"tinh": defaults.tinh, "xa": defaults.xa},
        "ngay_nop_ho_so": dates.get("NgayNopHoSo"),
        "ngay_tiep_nhan": dates.get("NgayTiepNhan"),
        "ngay_hen_tra": dates.get("NgayHenTra"),
        "ngay_ket_thuc_xu_ly": dates.get("NgayKetThucXuLy"),
        "ngay_tra": dates.get("NgayTra"),
        "han_buoc_hien_tai": dates.get("NgayKetThucTheoQuyDinh"),
        "ly_do": item.get("GhiChu"),
        "tra_cuu_url": defaults.tra_cuu_url.replace("{ma_ho_so}", ma_ho_so),
        "nguoi_nhan_thong_bao": recipients,
        "ma_linh_vuc": item.get("MaLinhVuc"),
    }
    if status is Status.SUPPLEMENT_REQUESTED:
        data["ly_do"] = item.get("GhiChu") or last_round.get("NoiDungBoSung")
        data["bo_sung"] = _supplement(last_round, len(rounds))
    if status is Status.DUE_DATE_EXTENDED:
        new = dates.get("NgayHenTraMoi") or last_round_dates.get("NgayHenTraMoi")
        data["ngay_hen_tra_truoc"] = dates.get("NgayHenTraTruoc") or last_round_dates.get("NgayHenTraTruoc")
        data["gia_han"] = {"lan_thu": 1, "ngay_hen_tra_moi": new} if new else None
    if status is Status.PAYMENT_REQUESTED:
        data["nghia_vu_tai_chinh"] = _payment(item.get("DanhSachLePhi"), f"{at}.DanhSachLePhi", out.problems)
    if status in (Status.RESULT_READY, Status.RESULT_RETURNED):
        data["ket_qua"] = _result(item)
    if out.problems:
        return out
    event = {
        "event_id": str(event_id_of(ma_ho_so, code, status, occurred_at)),
        "event_type": status.value,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": iso_vn(occurred_at),
        "emitted_at": iso_vn(max(now, occurred_at)),
        "source_system": madonvi,
        "sequence": sequence_of(occurred_at, code),
        "correlation_id": f"dvcqg:{service}",
        "data": _drop_none(data),
    }
    model, problems = check_event(event)
    out.event = model
    out.problems.extend(Problem(_source_path(p.path, at), p.message) for p in problems)
    return out


def _date_field(
    obj: Mapping[str, Any], name: str, path: str, into: dict[str, datetime], problems: list[Problem]
) -> None:
    value = obj.get(name)
    if value in (None, ""):
        return
    try:
        parsed = parse_datetime(value)
    except ValueError as exc:
        problems.append(Problem(path, str(exc)))
        return
    into[name] = parsed


def _status(
    item: Mapping[str, Any], at: str, service: str, problems: list[Problem]
) -> tuple[int | None, Status | None]:
    raw = item.get("TrangThaiHoSo")
    if raw is None and service == PROGRESS:
        raw = 4  # a progress step is a dossier being processed unless the agency says otherwise
    if raw is None:
        problems.append(Problem(f"{at}.TrangThaiHoSo", "the national status code (1..10) is required"))
        return None, None
    try:
        code = status_code(raw)
    except ValueError as exc:
        problems.append(Problem(f"{at}.TrangThaiHoSo", str(exc)))
        return None, None
    status = STATUS_BY_CODE[code]
    detail = item.get("TrangThaiChiTiet")
    if detail is not None:
        try:
            status = Status(str(detail))
        except ValueError:
            problems.append(Problem(f"{at}.TrangThaiChiTiet", f"unknown fine status {detail!r}"))
            return None, None
        if code not in DVCQG_CODES[status]:
            allowed = ", ".join(str(c) for c in sorted(DVCQG_CODES[status]))
            problems.append(
                Problem(f"{at}.TrangThaiChiTiet", f"{status.value} does not fit TrangThaiHoSo {code} ({allowed})")
            )
            return None, None
    return code, status


def _occurred_at(
    item: Mapping[str, Any],
    at: str,
    service: str,
    dates: Mapping[str, datetime],
    round_dates: Sequence[Mapping[str, datetime]],
    problems: list[Problem],
) -> datetime | None:
    """Explicit ``ThoiDiemCapNhat``; else ``ThoiDiemXuLy`` for progress; else the latest milestone in the item."""
    if "ThoiDiemCapNhat" in dates:
        return dates["ThoiDiemCapNhat"]
    if service == PROGRESS:
        if "ThoiDiemXuLy" not in dates and not any(p.path == f"{at}.ThoiDiemXuLy" for p in problems):
            problems.append(Problem(f"{at}.ThoiDiemXuLy", "the processing time is required (yyyyMMddHHmmss)"))
        return dates.get("ThoiDiemXuLy")
    seen = [dates[m] for m in MILESTONES if m in dates]
    seen += [r[m] for r in round_dates for m in ROUND_MILESTONES if m in r]
    if not seen:
        if not problems:
            problems.append(Problem(at, "no processing time: send ThoiDiemCapNhat or a milestone such as NgayTiepNhan"))
        return None
    return max(seen)


def _recipients(item: Mapping[str, Any], at: str, defaults: AgencyDefaults, out: MappedItem) -> list[dict[str, Any]]:
    """The owner as a recipient when a mobile number is known; consent is explicit or the agency's intake rule."""
    raw_phone = item.get("SoDienThoai")
    consent_raw = item.get("DongYNhanZalo")
    if consent_raw is None:
        consent = defaults.zalo_consent_at_intake
    elif isinstance(consent_raw, bool | int | str) and consent_raw in _TRUE:
        consent = True
    elif isinstance(consent_raw, bool | int | str) and consent_raw in _FALSE:
        consent = False
    else:
        out.problems.append(Problem(f"{at}.DongYNhanZalo", f"must be 1/0 or true/false, got {consent_raw!r}"))
        return []
    if raw_phone in (None, ""):
        return []
    phone = normalize_phone(str(raw_phone))
    if phone is None:
        out.warnings.append(Problem(f"{at}.SoDienThoai", "not a Vietnamese mobile number: nobody is notified on Zalo"))
        return []
    name = " ".join(str(item.get("ChuHoSo") or "").split())
    if not name:
        out.warnings.append(Problem(f"{at}.ChuHoSo", "no applicant name: nobody is notified on Zalo"))
        return []
    return [{"vai_tro": "CHU_HO_SO", "ho_ten_hien_thi": _shorten(name, 30), "phone": phone, "dong_y_zalo": consent}]


def _supplement(last_round: Mapping[str, Any], rounds: int) -> dict[str, Any] | None:
    docs: list[dict[str, str]] = []
    for d in last_round.get("DanhSachGiayToBoSung") or []:
        name = (
            d if isinstance(d, str) else (d.get("TenGiayTo") or d.get("TenThanhPhan")) if isinstance(d, dict) else None
        )
        if name:
            docs.append({"ten": str(name)})
    if not docs and last_round.get("NoiDungBoSung"):
        docs.append({"ten": str(last_round["NoiDungBoSung"])})
    return {"lan_thu": max(rounds, 1), "giay_to": docs} if docs else None


def _payment(fees: Any, path: str, problems: list[Problem]) -> dict[str, int] | None:
    if not isinstance(fees, list) or not fees:
        return None
    total = 0
    for j, fee in enumerate(fees):
        price = fee.get("Gia") if isinstance(fee, dict) else None
        try:
            total += int(float(str(price)))
        except ValueError:
            problems.append(Problem(f"{path}[{j}].Gia", f"an amount in đồng is required, got {price!r}"))
    return {"tong_tien_vnd": total}


def _result(item: Mapping[str, Any]) -> dict[str, Any] | None:
    results = item.get("DanhSachGiayToKetQua")
    first = results[0] if isinstance(results, list) and results and isinstance(results[0], dict) else {}
    if not first.get("TenGiayTo"):
        return None
    link = first.get("DuongDanTepTinKetQua")
    return _drop_none(
        {
            "ten_giay_to": first["TenGiayTo"],
            "ma_ket_qua": first.get("MaGiayToKetQua"),
            "link": link if isinstance(link, str) and link.startswith(("http://", "https://")) else None,
            "hinh_thuc_nhan": "BUU_CHINH" if str(item.get("HinhThuc")) == "1" else "TRUC_TIEP",
        }
    )


def _source_path(path: str, at: str) -> str:
    """Our field path → the national field that fed it (``data[i].X``), or the envelope's ``madonvi``."""
    if path.startswith(_AGENCY_LEVEL):
        return "madonvi"
    for ours, theirs in _SOURCE_OF:
        if path == ours or path.startswith((ours + ".", ours + "[")):
            return f"{at}.{theirs}"
    return f"{at} ({path})" if path else at


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _int_or_raw(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


def _drop_none(obj: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in obj.items():
        if v is None:
            continue
        if isinstance(v, datetime):
            v = iso_vn(v)
        elif isinstance(v, dict):
            v = _drop_none(v)
        out[k] = v
    return out
