"""What an agency's one-stop system sends the gateway in the demo: national-format (DVCQG) payloads.

The payloads are written the way a provincial system fills them for the national portal (numbers as
strings, dates as ``yyyyMMddHHmmss`` in Vietnam time, the citizen's consent as ``"1"``), posted with a demo
agency key. The events they become are mapped here with the same code the gateway uses, so the demo can
say which notifications they must produce without asking the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx

from hoso.errors import HosoError
from producers import dvcqg
from producers.gateway.auth import DEMO_KEYS_FILE, KeyRing
from schemas.common import now_vn

AGENCY_KEY = "hoso-demo-thanhhoa"
OPERATOR_KEY = "hoso-demo-operator"
MADONVI = "000.00.38.H56"
PROVINCE = "38"
"""Thanh Hóa: the demo agency's province, and the area of the demo's alert."""


@dataclass(frozen=True)
class Citizen:
    """One person lodging a dossier at the demo agency."""

    name: str
    phone: str
    procedure: tuple[str, str, str]
    """(MaTTHC, TenTTHC, MaLinhVuc)."""


CITIZENS = (
    Citizen("Lê Thị Hoa", "0912 345 678", ("1.001612", "Đăng ký khai sinh", "G09-TP02")),
    Citizen("Phạm Văn Đức", "+84 987 001 122", ("1.005129", "Cấp giấy phép xây dựng", "G09-XD01")),
)

PHONES = frozenset({"84912345678", "84987001122"})
"""The citizens' numbers as Zalo sees them (normalised)."""


def _stamp(at: datetime) -> str:
    return at.strftime("%Y%m%d%H%M%S")


def dossier_code(run_id: str, i: int) -> str:
    """A national-format dossier code, unique per demo run (the run id keeps reruns apart)."""
    serial = int(run_id, 16) % 10_000
    return f"{MADONVI}-{now_vn():%y%m%d}-{serial:04d}{i}"


def intake(run_id: str, at: datetime | None = None) -> dict[str, Any]:
    """``DongBoHoSoMC``: each citizen's dossier received at the one-stop desk this morning."""
    at = at or now_vn()
    items = []
    for i, c in enumerate(CITIZENS):
        items.append(
            {
                "MaHoSo": dossier_code(run_id, i),
                "MaTTHC": c.procedure[0],
                "TenTTHC": c.procedure[1],
                "MaLinhVuc": c.procedure[2],
                "KenhThucHien": "1",
                "ChuHoSo": c.name,
                "SoDienThoai": c.phone,
                "DongYNhanZalo": "1",
                "NgayNopHoSo": _stamp(at - timedelta(minutes=20)),
                "NgayTiepNhan": _stamp(at - timedelta(minutes=i + 1)),
                "NgayHenTra": _stamp(at + timedelta(days=7)),
                "TrangThaiHoSo": "2",
                "DonViXuLy": "UBND xã Quảng Phú" if i == 0 else "Sở Xây dựng Thanh Hóa",
            }
        )
    return {"madonvi": MADONVI, "isUpdating": "False", "data": items}


def progress(run_id: str, i: int, at: datetime | None = None) -> dict[str, Any]:
    """``CapNhatTienDoHoSoMC``: citizen ``i``'s dossier is done and the result is ready for collection."""
    at = at or now_vn()
    c = CITIZENS[i]
    return {
        "madonvi": MADONVI,
        "isUpdating": "True",
        "service": "CapNhatTienDoHoSoMC",
        "data": [
            {
                "MaHoSo": dossier_code(run_id, i),
                "MaTTHC": c.procedure[0],
                "TenTTHC": c.procedure[1],
                "KenhThucHien": 1,
                "ChuHoSo": c.name,
                "SoDienThoai": c.phone,
                "DongYNhanZalo": "1",
                "DonViXuLy": "UBND xã Quảng Phú",
                "PhongBanXuLy": "Bộ phận Tư pháp - Hộ tịch",
                "ThoiDiemXuLy": _stamp(at),
                "TrangThaiHoSo": "9",
                "NoiDungXuLy": "Đã ký giấy khai sinh, chuyển bộ phận trả kết quả",
            }
        ],
    }


def alert(run_id: str) -> dict[str, Any]:
    """An area alert for the demo agency's province (operator key)."""
    return {
        "broadcast_id": f"demo-{run_id}-storm",
        "area_level": "PROVINCE",
        "area_code": PROVINCE,
        "text": "Bão số 9 đổ bộ chiều nay: Trung tâm Phục vụ hành chính công tạm dừng tiếp nhận trực tiếp, "
        "hồ sơ trực tuyến vẫn được xử lý.",
    }


def mapped_events(body: dict[str, Any], service: str, proof_key: str) -> list[dict[str, Any]]:
    """The DossierEvents (wire form) the gateway makes of ``body`` for the demo agency."""
    principal = KeyRing.from_file(DEMO_KEYS_FILE).authenticate(f"Bearer {AGENCY_KEY}")
    if principal is None or principal.agency is None or principal.agency.dvcqg is None:
        raise HosoError(f"the demo key {AGENCY_KEY} has no agency profile in {DEMO_KEYS_FILE}")
    items = dvcqg.map_payload(body, service, principal.agency.dvcqg, now_vn(), proof_key=proof_key)
    return [item.event.model_dump(mode="json") for item in items if item.event is not None]


def post(gateway_url: str, path: str, body: dict[str, Any], key: str = AGENCY_KEY) -> dict[str, Any]:
    """POST ``body`` to the gateway; its JSON answer (raises with the answer when nothing was accepted)."""
    reply = httpx.post(f"{gateway_url}{path}", json=body, headers={"Authorization": f"Bearer {key}"}, timeout=30)
    answer: dict[str, Any] = reply.json()
    if reply.status_code not in (200, 202, 207):
        raise HosoError(f"gateway refused {path}: {reply.status_code} {answer}")
    return answer
