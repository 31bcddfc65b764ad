"""Records the bench writes: dossier events, notifications and the fast producer that pre-fills topics.

Events are RECEIVED (announced at once) or SUBMITTED (followers recorded, nothing announced), each for its
own dossier, so the rules' intentional holds never enter a measurement. Phone numbers are synthetic
``09xxxxxxxx`` numbers derived from an index (never the simulator's always-failing ``84999000NNN``).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer

from hoso.accounts import DEMO_OA
from hoso.kafka import clients as kafka_clients
from hoso.settings import Settings
from schemas import codec
from schemas.common import now_vn
from schemas.notification import Kind, Notification, Priority, SendChannel, tracking_id_for
from streams.followers import subscriber_id

PROVINCE = "22"
AGENCY = {"ma_dinh_danh": "000.00.49.H22", "ten": "Trung tâm Phục vụ hành chính công tỉnh Quảng Ninh"}


def phone(i: int) -> str:
    """A valid Vietnamese mobile number for index ``i`` (national form)."""
    return f"09{i % 100_000_000:08d}"


def dossier_code(run: str, i: int) -> str:
    """A dossier code unique to this run and index."""
    return f"000.00.49.H22-{run}-{i:07d}"


def dossier_event(
    run: str,
    i: int,
    *,
    status: str = "RECEIVED",
    recipients: int = 1,
    occurred_at: datetime | None = None,
    province: str = PROVINCE,
) -> dict[str, Any]:
    """A valid sequence-1 event of dossier ``i`` with ``recipients`` consenting recipients."""
    at = occurred_at or now_vn()
    code = dossier_code(run, i)
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": status,
        "schema_version": "1.0",
        "occurred_at": at.isoformat(),
        "emitted_at": at.isoformat(),
        "source_system": AGENCY["ma_dinh_danh"],
        "sequence": 1,
        "data": {
            "ma_ho_so": code,
            "ma_tthc": "1.005129",
            "ten_tthc": "Cấp giấy phép xây dựng",
            "kenh_thuc_hien": 2,
            "trang_thai_dvcqg": 2 if status == "RECEIVED" else 1,
            "trang_thai": status,
            "trang_thai_label_vi": "Đã tiếp nhận hồ sơ",
            "don_vi_tiep_nhan": AGENCY,
            "don_vi_xu_ly": AGENCY,
            "ma_dvhc": {"tinh": province},
            "ngay_hen_tra": (at + timedelta(days=10)).replace(hour=17, minute=0, second=0, microsecond=0).isoformat(),
            "tra_cuu_url": "https://dichvucong.quangninh.gov.vn/tra-cuu?mhs=" + code,
            "nguoi_nhan_thong_bao": [
                {"ho_ten_hien_thi": "Nguyễn Thị Lan", "phone": phone(i * recipients + r), "dong_y_zalo": True}
                for r in range(recipients)
            ],
        },
    }


def tracking_ids_of(event: dict[str, Any], pseudonym_key: str) -> list[str]:
    """The tracking ids the pipeline gives the messages about ``event`` (one per consenting recipient)."""
    from schemas.common import normalize_phone

    return [
        tracking_id_for(event["event_id"], subscriber_id(pseudonym_key, normalize_phone(r["phone"]), None))
        for r in event["data"]["nguoi_nhan_thong_bao"]
    ]


def notification(run: str, i: int) -> tuple[bytes, bytes]:
    """A rendered ZBS notification for recipient ``i`` as a (key, value) record, like the streams emit."""
    sid = f"bench-{run}-{i}"
    now = now_vn()
    n = Notification(
        tracking_id=tracking_id_for(f"{run}-{i}", sid),
        kind=Kind.DOSSIER_UPDATE,
        priority=Priority.DOSSIER,
        created_at=now,
        occurred_at=now,
        oa_id=DEMO_OA.oa_id,
        channel=SendChannel.ZBS_PHONE,
        to={"subscriber_id": sid, "phone": "84" + phone(i)[1:], "ho_ten_hien_thi": "Nguyễn Thị Lan"},
        template_id="hoso-received",
        template_data=_template_data(run, i),
        text="Hồ sơ đã được tiếp nhận.",
    )
    return sid.encode(), codec.dumps(n)


def _template_data(run: str, i: int) -> dict[str, str]:
    return {
        "ten": "Nguyễn Thị Lan",
        "ma_ho_so": dossier_code(run, i),
        "thu_tuc": "Cấp giấy phép xây dựng",
        "trang_thai": "Đã tiếp nhận hồ sơ",
        "ngay_hen_tra": "05/12/2026",
        "co_quan": "Sở Xây dựng Quảng Ninh",
    }


def template_body(i: int, run: str) -> bytes:
    """The JSON body the dispatcher POSTs for ``notification(run, i)`` (for the bare baselines)."""
    return orjson.dumps(
        {
            "phone": "84" + phone(i)[1:],
            "template_id": "hoso-received",
            "template_data": _template_data(run, i),
            "tracking_id": tracking_id_for(f"{run}-base-{i}", "x"),
        }
    )


async def produce(settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """Write ``records`` as fast as the broker takes them (acks=all); returns how many were written."""
    producer = AIOKafkaProducer(**kafka_clients.aiokafka(settings), acks="all", linger_ms=20, max_batch_size=512 * 1024)
    await producer.start()
    count = 0
    try:
        pending: list[asyncio.Future[Any]] = []
        for key, value in records:
            pending.append(await producer.send(topic, key=key, value=value))
            count += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


def fill(settings: Settings, topic: str, records: Iterable[tuple[bytes | None, bytes]]) -> int:
    """``produce`` from synchronous code."""
    return asyncio.run(produce(settings, topic, records))
