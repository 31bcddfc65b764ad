"""Agency A (Quảng Ninh) cannot change, follow or silence a dossier of agency B (Thanh Hóa), by any route:
its gateway key with B's dossier code (native or national payload), its own Kafka client writing straight to
the topic, or a sequence so large that every later real event would be stale.

Judged where it matters: the Zalo messages B's citizen and A's planted recipient receive at the simulator,
and the refused events waiting for an operator on the invalid-events topic.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest
from kafka import KafkaProducer

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import Process
from producers.gateway import start_gateway
from schemas.common import normalize_phone
from tests.factories import event
from tests.producers.test_gateway_broker import read_topic
from zalo_simulator import SimulatorConfig, start

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

QN = {"Authorization": "Bearer hoso-demo-quangninh"}
TH = {"Authorization": "Bearer hoso-demo-thanhhoa"}
THANH_HOA, QUANG_NINH = "000.00.12.H56", "000.00.49.H22"
DOSSIER = "000.00.12.H56-261129-0042"
CITIZEN, PLANTED = "0912345678", "0987000111"


def dossier_event(status: str, sequence: int, source: str, recipients: list[dict], label: str) -> dict:
    e = event(status, sequence=sequence, dossier=DOSSIER, recipients=recipients, trang_thai_label_vi=label)
    e["source_system"] = source
    e["data"]["don_vi_tiep_nhan"]["ma_dinh_danh"] = source
    e["data"]["ma_dvhc"]["tinh"] = "38"
    return e


def person(phone: str, consent: bool, name: str = "Lê Văn Hùng") -> dict:
    return {"ho_ten_hien_thi": name, "phone": phone, "dong_y_zalo": consent}


TAKEOVER = [person(PLANTED, True, "Người lạ"), person(CITIZEN, False)]  # follow it, and silence the citizen


@pytest.mark.timeout(300)
async def test_another_agency_cannot_change_follow_or_silence_a_dossier(settings, tmp_path):
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    settings = settings.replace(quiet_hours="", collapse_window_s=0.0, max_sequence_jump=1000)
    async with await start(SimulatorConfig()) as sim:
        env = {
            **settings.to_env(),
            "HOSO_ZALO_ZBS_URL": sim.url,
            "HOSO_ZALO_OA_URL": sim.url,
            "HOSO_ZALO_OAUTH_URL": sim.url,
        }
        procs = [Process(role, [role], env, tmp_path / f"{role}.log").start() for role in ("worker", "dispatcher")]

        def texts_to(phone: str) -> list[str]:
            to = normalize_phone(phone)
            return [
                " | ".join(map(str, (m.template_data or {}).values())) + (m.text or "")
                for m in sim.state.messages
                if m.recipient == to
            ]

        async def wait_for_messages(phone: str, n: int) -> None:
            deadline = time.monotonic() + 150
            while len(texts_to(phone)) < n:
                for p in procs:
                    assert p.alive, f"{p.name} died:\n{p.tail()}"
                assert time.monotonic() < deadline, "no Zalo message; worker log:\n" + procs[0].tail()
                await asyncio.sleep(0.5)

        direct = KafkaProducer(**kafka_python(settings), acks="all")  # Quảng Ninh's own client
        try:
            async with await start_gateway(settings, port=0) as gw, httpx.AsyncClient(base_url=gw.url) as http:
                received = dossier_event("RECEIVED", 1, THANH_HOA, [person(CITIZEN, True)], "Đã tiếp nhận hồ sơ")
                assert (await http.post("/v1/dossier-events", json=received, headers=TH)).status_code == 200
                await wait_for_messages(CITIZEN, 1)

                # 1. Quảng Ninh's key, Thanh Hóa's dossier code, native format (its own codes as the source).
                native = dossier_event("STOPPED", 2, QUANG_NINH, TAKEOVER, "Dừng xử lý")
                r = await http.post("/v1/dossier-events", json=native, headers=QN)
                assert r.status_code == 403 and [x["path"] for x in r.json()["rejected"]] == ["data.ma_ho_so"]
                # 2. The national payload, Thanh Hóa's MaHoSo under Quảng Ninh's madonvi.
                item = {
                    "MaHoSo": DOSSIER,
                    "MaTTHC": "1.005129",
                    "TenTTHC": "Cấp giấy phép xây dựng",
                    "KenhThucHien": "1",
                    "ChuHoSo": "Người lạ",
                    "SoDienThoai": PLANTED,
                    "DongYNhanZalo": "1",
                    "NgayTiepNhan": "20261129083000",
                    "TrangThaiHoSo": "8",
                    "GhiChu": "Dừng",
                }
                payload = {"madonvi": QUANG_NINH, "isUpdating": "True", "data": [item]}
                r = await http.post("/v1/dvcqg/DongBoHoSoMC", json=payload, headers=QN)
                assert r.status_code == 403, r.text
                # 3. Quảng Ninh's system writes straight to Kafka: takeover, then a sequence that would end it all.
                for e in (native, dossier_event("RESULT_READY", 2**63 - 1, QUANG_NINH, TAKEOVER, "Giả mạo")):
                    direct.send(topics.dossier_events.name, key=DOSSIER.encode(), value=orjson.dumps(e)).get(30)
                # 4. Thanh Hóa's own system, with a broken counter: held for review, not applied.
                leap = dossier_event("IN_PROCESS", 2**63 - 1, THANH_HOA, [], "Đang xử lý")
                assert (await http.post("/v1/dossier-events", json=leap, headers=TH)).status_code == 200

                # The next real event still reaches the citizen, who was neither silenced nor joined.
                supplement = dossier_event("SUPPLEMENT_REQUESTED", 2, THANH_HOA, [], "Cần bổ sung giấy tờ")
                assert (await http.post("/v1/dossier-events", json=supplement, headers=TH)).status_code == 200
                await wait_for_messages(CITIZEN, 2)
                await asyncio.sleep(3)  # anything planted would arrive by now
        finally:
            direct.close()
            for p in procs:
                p.stop()

        to_citizen = texts_to(CITIZEN)
        assert len(to_citizen) == 2 and "bổ sung" in to_citizen[1].lower(), to_citizen
        assert texts_to(PLANTED) == []
    parked = [orjson.loads(r.value) for r in read_topic(settings, topics.dossier_events_invalid.name)]
    reasons = sorted(p["problems"][0]["path"] for p in parked)
    assert reasons == ["sequence", "source_system", "source_system"], parked
