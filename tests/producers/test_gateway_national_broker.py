"""National-portal payloads, written carelessly, through `hoso gateway`, the worker and the dispatcher on the real
broker: what the Zalo simulator received is what a citizen following the dossier would read."""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import httpx
import orjson
import pytest

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import Process, free_port
from producers.gateway import start_gateway
from schemas.dossier_event import Status
from streams.render import SHORT_STATUS
from tests.producers.test_gateway_broker import read_topic
from zalo_simulator import SimulatorConfig, start

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

QN = {"Authorization": "Bearer hoso-demo-quangninh"}
SYNC_URL = "/v1/dvcqg/DongBoHoSoMC"
STEP_URL = "/v1/dvcqg/CapNhatTienDoHoSoMC"
FULL = "000.00.49.H22-261128-0101"
FEES = "000.00.49.H22-261128-0102"
EARLY = "000.00.49.H22-261128-0103"
NEVER = "000.00.49.H22-261128-0104"
PHONES = {FULL: "+84 912.345.001", FEES: "0912 345 002", EARLY: "84912345003"}


def item(code: str, **fields: Any) -> dict[str, Any]:
    """A status-2 item as one-stop serialisers write it (empty strings, numbers as strings, NFD-free but padded)."""
    base: dict[str, Any] = {
        "MaHoSo": code,
        "MaTTHC": "1.005129",
        "TenTTHC": " Cấp giấy phép xây dựng ",
        "KenhThucHien": "2",
        "ChuHoSo": "Nguyễn Thị Lan",
        "SoDienThoai": PHONES[code],
        "DongYNhanZalo": "True",
        "GhiChu": "",
        "NgayTuChoi": "",
        "MaDoiTuong": "",
        "Email": None,
        "NgayNopHoSo": "20261127080000",
        "NgayTiepNhan": "20261127090000",
        "NgayHenTra": "20261205170000",
        "NgayKetThucXuLy": "",
        "TrangThaiHoSo": "2",
        "DonViXuLy": "Sở Xây dựng Quảng Ninh",
        "DanhSachLePhi": [],
        "DanhSachHoSoBoSung": None,
    }
    base.update(fields)
    return base


def step(code: str, at: str) -> dict[str, Any]:
    """A progress step with only the documented fields."""
    return {
        "MaHoSo": code,
        "NguoiXuLy": "Lê Văn Hùng",
        "ChucDanh": "Chuyên viên",
        "ThoiDiemXuLy": at,
        "PhongBanXuLy": "Phòng Quản lý xây dựng",
        "NoiDungXuLy": "Thẩm định hồ sơ",
        "TrangThai": "1",
        "NgayBatDau": "",
        "NgayKetThucTheoQuyDinh": "20261130170000",
    }


ASKED = {
    "NoiDungBoSung": "Bổ sung giấy tờ còn thiếu",
    "NgayBoSung": "20261127110000",
    "NgayTiepNhanBoSung": "",
    "DanhSachGiayToBoSung": [{"TenGiayTo": "Bản vẽ thiết kế"}, {"TenGiayTo": "Giấy chứng nhận quyền sử dụng đất"}],
}
TAKEN = {**ASKED, "NgayTiepNhanBoSung": "20261127140000"}
LATE = {"NgayHenTraTruoc": "20261205170000", "NgayHenTraMoi": "20261212170000", "NoiDungBoSung": ""}
FEE = [{"TenPhiLePhi": "Lệ phí cấp phép", "Gia": "75.000", "HinhThucThu": "4"}]


def said(message: Any) -> str:
    return " | ".join(str(v) for v in (message.template_data or {}).values()) + " " + (message.text or "")


def status_of(message: Any) -> Status | None:
    label = (message.template_data or {}).get("trang_thai")
    return next((s for s, short in SHORT_STATUS.items() if short == label), None)


@pytest.mark.timeout(420)
async def test_careless_national_payloads_reach_the_citizen_as_the_right_messages(settings, tmp_path):
    settings = settings.replace(
        quiet_hours="",
        reorder_hold_s=1.0,
        collapse_window_s=1.0,
        settle_s=1.0,
        survey_delay_s=2.0,
        streams_web_port=free_port(),
        operator_key="op-key",
        partial_wait_s=15.0,
    )
    create_topics(kafka_python(settings), settings.topics)
    posts: list[tuple[str, dict[str, Any]]] = [
        (STEP_URL, step(EARLY, "20261127093000")),  # before its dossier
        (STEP_URL, step(NEVER, "20261127093000")),  # its dossier never comes
        (SYNC_URL, item(FULL)),
        (STEP_URL, step(FULL, "20261127093000")),
        (SYNC_URL, item(FULL, TrangThaiHoSo="5", DanhSachHoSoBoSung=[ASKED])),
        (SYNC_URL, item(FULL, TrangThaiHoSo="4", DanhSachHoSoBoSung=[TAKEN])),
        (SYNC_URL, item(FULL, TrangThaiHoSo="4", DanhSachHoSoBoSung=[TAKEN, LATE])),
        (SYNC_URL, item(FEES)),
        (SYNC_URL, item(FEES, TrangThaiHoSo="4")),
        (SYNC_URL, item(FEES, TrangThaiHoSo="6", DanhSachLePhi=FEE)),
        (SYNC_URL, item(FEES, TrangThaiHoSo="6", DanhSachLePhi=FEE)),  # identical re-sync
        (SYNC_URL, item(FEES, TrangThaiHoSo="4")),
        (SYNC_URL, item(EARLY)),
        (
            SYNC_URL,
            item(
                FULL,
                TrangThaiHoSo="10",
                NgayKetThucXuLy="20261128100000",
                NgayTra="20261128110000",
                DanhSachHoSoBoSung=[TAKEN, LATE],
                DanhSachGiayToKetQua=[{"TenGiayTo": "Giấy phép xây dựng", "DuongDanTepTinKetQua": ""}],
            ),
        ),
    ]
    wanted = {
        FULL: [
            Status.RECEIVED,
            Status.SUPPLEMENT_REQUESTED,
            Status.SUPPLEMENT_RECEIVED,
            Status.DUE_DATE_EXTENDED,
            Status.RESULT_RETURNED,
            Status.SURVEY_INVITED,
        ],
        FEES: [Status.RECEIVED, Status.PAYMENT_REQUESTED],
        EARLY: [Status.RECEIVED],
    }
    async with await start(SimulatorConfig()) as sim:
        env = {
            **settings.to_env(),
            "HOSO_ZALO_ZBS_URL": sim.url,
            "HOSO_ZALO_OA_URL": sim.url,
            "HOSO_ZALO_OAUTH_URL": sim.url,
        }
        procs = [Process(role, [role], env, tmp_path / f"{role}.log").start() for role in ("worker", "dispatcher")]
        try:
            async with await start_gateway(settings, port=0) as gw, httpx.AsyncClient(base_url=gw.url) as http:
                for url, payload in posts:
                    r = await http.post(url, json={"madonvi": "000.00.49.H22", "isUpdating": "True", "data": [payload]},
                                        headers=QN)  # fmt: skip
                    assert r.status_code == 200, r.text
                    assert r.json()["accepted"] == 1 and r.json()["error_code"] == "00"
                    await asyncio.sleep(0.3)

            def received(code: str) -> list[Any]:
                return [m for m in sim.state.messages if code in said(m)]

            deadline = time.monotonic() + 240
            while not all(set(wanted[c]) <= {status_of(m) for m in received(c)} for c in wanted):
                for p in procs:
                    assert p.alive, f"{p.name} died:\n{p.tail()}"
                assert time.monotonic() < deadline, {c: [status_of(m) for m in received(c)] for c in wanted}
                await asyncio.sleep(0.5)
            await asyncio.sleep(5)  # a duplicate, if any, would arrive now
            api = f"http://127.0.0.1:{settings.streams_web_port}/v1/dossiers/{FEES}"
            async with httpx.AsyncClient() as http:
                state = (await http.get(api, headers={"Authorization": "Bearer op-key"})).json()
            assert state["trang_thai_dvcqg"] == 4, state  # 2 → 4 → 6 → 4 ends in 4

            def parked() -> list[dict[str, Any]]:
                return [
                    orjson.loads(r.value) for r in read_topic(settings, settings.topics.dossier_events_invalid.name)
                ]

            while not parked():  # the step whose dossier never came is given up after HOSO_PARTIAL_WAIT_S
                assert time.monotonic() < deadline + 60, "the orphaned step never reached the invalid topic"
                await asyncio.sleep(1)
            [orphan] = parked()
            assert orphan["key_b64"] == base64.b64encode(NEVER.encode()).decode()
            assert "never arrived" in orphan["problems"][0]["message"]
        finally:
            for p in procs:
                p.stop()

        told = {c: [status_of(m) for m in received(c)] for c in wanted}
        for code, statuses in told.items():
            handled = [s for s in statuses if s in (Status.IN_PROCESS, Status.TRANSFERRED)]
            assert len(handled) <= 1, told
            assert [s for s in statuses if s not in (Status.IN_PROCESS, Status.TRANSFERRED)] == wanted[code], told
        by_status = {status_of(m): said(m) for m in received(FULL)}
        assert "Sở Xây dựng Quảng Ninh" in by_status[Status.RECEIVED] and "05/12/2026" in by_status[Status.RECEIVED]
        for name in ("Bản vẽ thiết kế", "Giấy chứng nhận quyền sử dụng đất"):
            assert name in by_status[Status.SUPPLEMENT_REQUESTED]
        assert (
            "05/12/2026" in by_status[Status.DUE_DATE_EXTENDED] and "12/12/2026" in by_status[Status.DUE_DATE_EXTENDED]
        )
        fees = {status_of(m): said(m) for m in received(FEES)}
        assert "75.000" in fees[Status.PAYMENT_REQUESTED]
        assert {m.recipient for m in received(FULL)} == {"84912345001"}
