"""The national portal's sync payloads (``DongBoHoSoMC``, ``CapNhatTienDoHoSoMC``) mapped onto DossierEvent v1.

Provincial one-stop systems already send these payloads to Cổng DVCQG; accepting them unchanged is what lets an
agency adopt hoso without writing a Kafka client. The national format has no ``event_id`` or ``sequence`` and
only a coarse status code, so this module derives them deterministically from the payload (the same payload,
replayed, maps to the same event, which the streams drop as a duplicate). Pure functions, no I/O; every problem
is reported with its path in the agency's own terms (``data[2].TrangThaiHoSo``). The rules are written out in
docs/gateway.md.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import orjson

from schemas.codec import check_event
from schemas.common import ID_PROOF_DIGITS, VN_TZ, id_proof_hash, iso_vn, normalize_phone
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

SEQUENCE_SLOTS = 1000
"""sequence = receipt time in epoch milliseconds x 1000 + the item's index in ``data``: arrival orders events.

The national format has no sequence and its milestones do not move when a status goes back (4 → 6 → 4 leaves
every date as it was), so business time cannot order such a run. Arrival can; a true repeat is told apart by its
``event_id``, which depends only on what the item says (see ``event_id_of``), and the streams drop an event whose
id is that of the dossier's latest event. docs/gateway.md states the whole rule."""

APOLOGY_REASON = "Hồ sơ chưa được giải quyết đúng hẹn."
"""Reason shown with an apology derived from ``DanhSachHoSoBoSung`` when the agency wrote none."""
AUTHORISED_FIELD_KEYS = ("uy_quyen_field", "uy_quyen_phone_field", "uy_quyen_name_field")
"""Keys of an agency profile naming the fields that flag an authorised person and carry their phone and name."""
PROCEDURE_FIELDS = ("MaTTHC", "TenTTHC", "KenhThucHien")
"""What a progress step may leave out; the streams then complete it from the dossier's state (``partial``)."""
_LIMITS = {"TenTTHC": 500, "MaTTHC": 64, "MaLinhVuc": 64, "DonViXuLy": 200, "PhongBanXuLy": 200, "GhiChu": 1000}

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
    uy_quyen_field: str = "UyQuyen"
    """Field whose true value means the dossier was lodged by an authorised person, who is then told instead."""
    uy_quyen_phone_field: str = "SoDienThoaiNguoiUyQuyen"
    uy_quyen_name_field: str = "HoTenNguoiUyQuyen"


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


def sequence_of(received_at: datetime, index: int) -> int:
    """The per-dossier sequence: receipt time (ms since epoch), then the item's place in its request."""
    return int(received_at.timestamp() * 1000) * SEQUENCE_SLOTS + min(index, SEQUENCE_SLOTS - 1)


def event_id_of(occurred_at: datetime, data: Mapping[str, Any]) -> uuid.UUID:
    """A UUID that only depends on what the item says (time and mapped content): a re-sync gets the same id."""
    digest = hashlib.sha256(orjson.dumps({"at": iso_vn(occurred_at), "data": data}, option=orjson.OPT_SORT_KEYS))
    return uuid.uuid5(EVENT_NAMESPACE, digest.hexdigest())


def clean(value: Any) -> Any:
    """A payload value with every spelling of "not given" removed: ``""``, whitespace, ``null``, ``[]``, ``{}``.

    Text is put in NFC with its whitespace runs collapsed, so an NFD or reflowed copy reads as the same value.
    """
    if isinstance(value, str):
        text = " ".join(unicodedata.normalize("NFC", value).split())
        return text or None
    if isinstance(value, Mapping):
        kept = {str(k): v for k, v in ((k, clean(v)) for k, v in value.items()) if v is not None}
        return kept or None
    if isinstance(value, list):
        items = [v for v in (clean(v) for v in value) if v is not None]
        return items or None
    return value


def flag(value: Any) -> bool | None:
    """``True``/``"True"``/``1``/``"có"``… as a bool; None when the value says neither."""
    if isinstance(value, bool | int | str):
        key = value.strip() if isinstance(value, str) else value
        if key in _TRUE or (isinstance(key, str) and key.lower() in _TRUE):
            return True
        if key in _FALSE or (isinstance(key, str) and key.lower() in _FALSE):
            return False
    return None


def amount(value: Any) -> int:
    """A sum in đồng from ``75000``, ``"75000"``, ``"75.000"``, ``"75,000"`` or ``"75000.0"``; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return int(value)
    text = str(value).replace(" ", "").removesuffix("đ").removesuffix("VND").removesuffix("vnđ")
    if re.fullmatch(r"\d{1,3}([.,]\d{3})+", text):
        return int(re.sub(r"[.,]", "", text))
    return int(float(text))


def envelope_problems(body: Any, service: str) -> list[Problem]:
    """Problems with the request envelope ``{madonvi, isUpdating, data: [...]}`` (session and service optional)."""
    if not isinstance(body, dict):
        return [Problem("", f"expected a JSON object {{madonvi, isUpdating, data}}, got {type(body).__name__}")]
    problems = []
    if not isinstance(body.get("madonvi"), str | int) or not str(body["madonvi"]).strip():
        problems.append(Problem("madonvi", "the agency identifier code is required"))
    if clean(body.get("service")) not in (None, service):
        problems.append(Problem("service", f"this endpoint takes {service}, not {body.get('service')!r}"))
    data = body.get("data")
    if not isinstance(data, list) or not data:
        problems.append(Problem("data", "a non-empty list of dossier objects is required"))
    return problems


def map_payload(
    body: Mapping[str, Any], service: str, defaults: AgencyDefaults, now: datetime, *, proof_key: str | None = None
) -> list[MappedItem]:
    """Map every ``data[i]`` of a valid envelope (see ``envelope_problems``) to a validated DossierEvent.

    With ``proof_key`` (the deployment's HOSO_PROOF_KEY), the owner's ID-document number becomes the dossier's
    ``xac_thuc_hash``, so the citizen can prove the dossier is theirs with the digits on the receipt; the
    number itself never leaves this function.
    """
    madonvi = str(body["madonvi"]).strip()
    return [_map_item(i, item, service, madonvi, defaults, now, proof_key) for i, item in enumerate(body["data"])]


def _map_item(
    index: int, item: Any, service: str, madonvi: str, defaults: AgencyDefaults, now: datetime, proof_key: str | None
) -> MappedItem:
    out = MappedItem(index)
    at = f"data[{index}]"
    if not isinstance(item, dict):
        out.problems.append(Problem(at, f"expected a dossier object, got {type(item).__name__}"))
        return out
    item = clean(item) or {}
    if not isinstance(item.get("MaHoSo"), str | int):
        out.problems.append(Problem(f"{at}.MaHoSo", "the dossier code is required"))
        return out
    for name, limit in _LIMITS.items():
        if isinstance(item.get(name), str) and len(item[name]) > limit:
            item[name] = _shorten(item[name], limit)
    dates: dict[str, datetime] = {}
    for name in (*MILESTONES, "NgayHenTra", "NgayHenTraTruoc", "NgayHenTraMoi", "ThoiDiemXuLy", "ThoiDiemCapNhat"):
        _date_field(item, name, f"{at}.{name}", dates, out.problems)
    for name in ("NgayBatDau", "NgayKetThucTheoQuyDinh"):
        _date_field(item, name, f"{at}.{name}", dates, out.warnings)
    rounds = item.get("DanhSachHoSoBoSung") or []
    if not isinstance(rounds, list):
        out.problems.append(Problem(f"{at}.DanhSachHoSoBoSung", "must be a list of supplement rounds"))
        rounds = []
    round_dates: list[dict[str, datetime]] = []
    for j, r in enumerate(rounds):
        found: dict[str, datetime] = {}
        if isinstance(r, dict):
            # only the last round says anything about now; an older round's bad date is worth a warning only
            into = out.problems if j == len(rounds) - 1 else out.warnings
            for name in (*ROUND_MILESTONES, "NgayHenTraTruoc", "NgayHenTraMoi"):
                _date_field(r, name, f"{at}.DanhSachHoSoBoSung[{j}].{name}", found, into)
        round_dates.append(found)

    code, status = _status(item, at, service, out.problems)
    last_round = rounds[-1] if rounds and isinstance(rounds[-1], dict) else {}
    last_round_dates = round_dates[-1] if round_dates else {}
    if code is not None and status is not None and "TrangThaiChiTiet" not in item:
        status = _derived_status(code, status, item, dates, last_round_dates)
    occurred_at = _occurred_at(item, at, service, dates, round_dates, out.problems, now)
    if occurred_at is not None and occurred_at > now + MAX_FUTURE:
        out.problems.append(Problem(at, f"processing time {iso_vn(occurred_at)} lies in the future"))
    recipients = _recipients(item, at, defaults, out)
    if out.problems or code is None or status is None or occurred_at is None:
        return out

    ma_ho_so = str(item.get("MaHoSo", "")).strip()
    partial = service == PROGRESS and any(item.get(k) is None for k in PROCEDURE_FIELDS)
    default_agency = None if partial else defaults.ten_don_vi
    missing = []
    if not partial:
        missing = [
            Problem(f"{at}.{k}", "is required for a dossier sync (a progress step may leave it out)")
            for k in PROCEDURE_FIELDS
            if item.get(k) is None
        ]
    data: dict[str, Any] = {
        "ma_ho_so": ma_ho_so,
        "ma_tthc": _text_or_none(item.get("MaTTHC")),
        "ten_tthc": _text_or_none(item.get("TenTTHC")),
        "kenh_thuc_hien": _int_or_raw(item.get("KenhThucHien")),
        "trang_thai_dvcqg": code,
        "trang_thai": status.value,
        "trang_thai_label_vi": STATUS_LABEL_VI[status],
        "don_vi_tiep_nhan": {"ma_dinh_danh": madonvi, "ten": defaults.ten_don_vi},
        "don_vi_xu_ly": {
            "ma_dinh_danh": item.get("MaDonViXuLy") or madonvi,
            "ten": item.get("DonViXuLy") or default_agency,
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
        "xac_thuc_hash": _id_proof(item, at, ma_ho_so, proof_key, out.warnings),
    }
    if status is Status.SUPPLEMENT_REQUESTED:
        data["ly_do"] = item.get("GhiChu") or last_round.get("NoiDungBoSung")
        data["bo_sung"] = _supplement(last_round, len(rounds))
    if status is Status.DUE_DATE_EXTENDED:
        new = dates.get("NgayHenTraMoi") or last_round_dates.get("NgayHenTraMoi")
        data["ngay_hen_tra_truoc"] = dates.get("NgayHenTraTruoc") or last_round_dates.get("NgayHenTraTruoc")
        extensions = sum(1 for r in round_dates if "NgayHenTraMoi" in r)
        data["gia_han"] = {"lan_thu": max(extensions, 1), "ngay_hen_tra_moi": new} if new else None
        data["ngay_hen_tra"] = new or data["ngay_hen_tra"]
        data["ly_do"] = item.get("GhiChu") or last_round.get("NoiDungBoSung") or APOLOGY_REASON
    if status is Status.PAYMENT_REQUESTED:
        data["nghia_vu_tai_chinh"] = _payment(item.get("DanhSachLePhi"), f"{at}.DanhSachLePhi", out.problems)
    if status in (Status.RESULT_READY, Status.RESULT_RETURNED):
        data["ket_qua"] = _result(item)
    if out.problems:
        return out
    mapped = _drop_none(data)
    event = {
        "event_id": str(event_id_of(occurred_at, mapped)),
        "event_type": status.value,
        "schema_version": SCHEMA_VERSION,
        "occurred_at": iso_vn(occurred_at),
        "emitted_at": iso_vn(max(now, occurred_at)),
        "source_system": madonvi,
        "sequence": sequence_of(now, index),
        "correlation_id": f"dvcqg:{service}",
        "partial": True if partial else None,
        "data": mapped,
    }
    model, problems = check_event(event)
    out.event = model
    out.problems.extend(Problem(_source_path(p.path, at), p.message) for p in problems)
    reported = {p.path for p in out.problems}
    out.problems += [p for p in missing if p.path not in reported]
    if out.problems:
        out.event = None
    return out


def _date_field(
    obj: Mapping[str, Any], name: str, path: str, into: dict[str, datetime], problems: list[Problem]
) -> None:
    value = obj.get(name)
    if value is None:
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
            status = Status(str(detail).upper())
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


def _derived_status(
    code: int,
    status: Status,
    item: Mapping[str, Any],
    dates: Mapping[str, datetime],
    last_round: Mapping[str, datetime],
) -> Status:
    """The fine status the standard fields show for an in-process dossier (code 4); others keep the default.

    The last ``DanhSachHoSoBoSung`` round tells what just happened: a supplement taken in
    (``NgayTiepNhanBoSung``) or, failing that, a new appointment after a delay (``NgayHenTraMoi`` with a
    previous date) — the apology. A change of ``DonViXuLy`` needs the dossier's history; the streams derive it.
    """
    if code != 4 or status is not Status.IN_PROCESS:
        return status
    if "NgayTiepNhanBoSung" in last_round:
        return Status.SUPPLEMENT_RECEIVED
    new = dates.get("NgayHenTraMoi") or last_round.get("NgayHenTraMoi")
    old = dates.get("NgayHenTraTruoc") or last_round.get("NgayHenTraTruoc")
    if new is not None and old is not None and new != old:
        return Status.DUE_DATE_EXTENDED
    return status


def _occurred_at(
    item: Mapping[str, Any],
    at: str,
    service: str,
    dates: Mapping[str, datetime],
    round_dates: Sequence[Mapping[str, datetime]],
    problems: list[Problem],
    received_at: datetime,
) -> datetime | None:
    """Explicit ``ThoiDiemCapNhat``; else, for a progress step, ``ThoiDiemXuLy``, ``NgayBatDau`` or its receipt
    time; else the latest milestone in the item."""
    if "ThoiDiemCapNhat" in dates:
        return dates["ThoiDiemCapNhat"]
    if service == PROGRESS:
        if any(p.path == f"{at}.ThoiDiemXuLy" for p in problems):
            return None
        return dates.get("ThoiDiemXuLy") or dates.get("NgayBatDau") or received_at
    seen = [dates[m] for m in MILESTONES if m in dates]
    seen += [r[m] for r in round_dates for m in ROUND_MILESTONES if m in r]
    if not seen:
        if not problems:
            problems.append(Problem(at, "no processing time: send ThoiDiemCapNhat or a milestone such as NgayTiepNhan"))
        return None
    return max(seen)


def _recipients(item: Mapping[str, Any], at: str, defaults: AgencyDefaults, out: MappedItem) -> list[dict[str, Any]]:
    """Who is told: the authorised person when the dossier says so (and is reachable), else the owner.

    Consent is the item's ``DongYNhanZalo`` or the agency's intake rule. A number Zalo cannot reach (landline,
    foreign) or a missing name is a warning: the dossier is still accepted, nobody is messaged on Zalo.
    """
    consent_raw = item.get("DongYNhanZalo")
    consent = flag(consent_raw)
    if consent is None:
        if consent_raw is not None:
            out.warnings.append(Problem(f"{at}.DongYNhanZalo", f"not 1/0 or true/false ({consent_raw!r}): ignored"))
        consent = defaults.zalo_consent_at_intake
    if flag(item.get(defaults.uy_quyen_field)):
        chosen = _recipient(
            item, at, defaults.uy_quyen_phone_field, defaults.uy_quyen_name_field, "NGUOI_UY_QUYEN", consent, out
        )
        if chosen:
            return chosen
    return _recipient(item, at, "SoDienThoai", "ChuHoSo", "CHU_HO_SO", consent, out)


def _recipient(
    item: Mapping[str, Any], at: str, phone_field: str, name_field: str, role: str, consent: bool, out: MappedItem
) -> list[dict[str, Any]]:
    raw_phone = item.get(phone_field)
    if raw_phone is None:
        return []
    phone = normalize_phone(str(raw_phone))
    if phone is None:
        out.warnings.append(
            Problem(f"{at}.{phone_field}", "not a Vietnamese mobile number (landline or foreign): not told on Zalo")
        )
        return []
    name = " ".join(str(item.get(name_field) or "").split())
    if not name:
        out.warnings.append(Problem(f"{at}.{name_field}", "no name to address the person by: not told on Zalo"))
        return []
    return [{"vai_tro": role, "ho_ten_hien_thi": _shorten(name, 30), "phone": phone, "dong_y_zalo": consent}]


def _id_proof(item: Mapping[str, Any], at: str, code: str, key: str | None, warnings: list[Problem]) -> str | None:
    """The dossier's ``xac_thuc_hash`` from the owner's ID number (``SoGiayToChuHoSo``, else the first
    ``DinhDanhCHS`` entry), or None when there is no key or no usable number (a warning says which)."""
    if key is None:
        return None
    path, number = f"{at}.SoGiayToChuHoSo", item.get("SoGiayToChuHoSo")
    if number is None:
        ids = item.get("DinhDanhCHS")
        for j, entry in enumerate(ids if isinstance(ids, list) else []):
            if isinstance(entry, dict) and entry.get("SoDinhDanh") is not None:
                path, number = f"{at}.DinhDanhCHS[{j}].SoDinhDanh", entry["SoDinhDanh"]
                break
    if number is None:
        return None
    digits = "".join(ch for ch in str(number) if ch.isdigit())
    if len(digits) < ID_PROOF_DIGITS:
        warnings.append(Problem(path, f"fewer than {ID_PROOF_DIGITS} digits: the citizen cannot prove ownership by ID"))
        return None
    return id_proof_hash(key, code, digits)


def _supplement(last_round: Mapping[str, Any], rounds: int) -> dict[str, Any] | None:
    docs: list[dict[str, str]] = []
    listed = last_round.get("DanhSachGiayToBoSung") or []
    for d in listed if isinstance(listed, list) else [listed]:
        name = (
            d if isinstance(d, str) else (d.get("TenGiayTo") or d.get("TenThanhPhan")) if isinstance(d, dict) else None
        )
        if name:
            docs.append({"ten": _shorten(str(name), 500)})
    if not docs and last_round.get("NoiDungBoSung"):
        docs.append({"ten": _shorten(str(last_round["NoiDungBoSung"]), 500)})
    return {"lan_thu": max(rounds, 1), "giay_to": docs} if docs else None


def _payment(fees: Any, path: str, problems: list[Problem]) -> dict[str, int] | None:
    """The sum still due: fee items not collected at intake (``HinhThucThu`` 1) nor marked paid (``DaThu``)."""
    if isinstance(fees, dict):
        fees = [fees]
    if not isinstance(fees, list) or not fees:
        return None
    total = 0
    due = 0
    for j, fee in enumerate(fees):
        if not isinstance(fee, dict):
            continue
        if str(fee.get("HinhThucThu")) == "1" or flag(fee.get("DaThu")) or flag(fee.get("DaThanhToan")):
            continue
        price = fee.get("Gia")
        try:
            total += amount(price) if price is not None else 0
            due += 1
        except ValueError:
            problems.append(Problem(f"{path}[{j}].Gia", f"an amount in đồng is required, got {price!r}"))
    return {"tong_tien_vnd": total} if due else None


def _result(item: Mapping[str, Any]) -> dict[str, Any] | None:
    results = item.get("DanhSachGiayToKetQua")
    if isinstance(results, dict):
        results = [results]
    first = results[0] if isinstance(results, list) and results and isinstance(results[0], dict) else {}
    if not first.get("TenGiayTo"):
        return None
    link = first.get("DuongDanTepTinKetQua")
    return _drop_none(
        {
            "ten_giay_to": _shorten(str(first["TenGiayTo"]), 500),
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


def _text_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


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
