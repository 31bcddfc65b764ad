"""The gateway on the real broker: acknowledged before the reply, replays harmless, alerts on every partition,
and a national-portal payload that ends as the right Zalo message at the simulator."""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import Process
from producers.dvcqg import SYNC, map_payload, parse_datetime
from producers.gateway import start_gateway
from producers.gateway.auth import DEMO_KEYS_FILE, KeyRing
from schemas.common import normalize_phone, pseudonym
from schemas.notification import tracking_id_for
from tests.factories import event
from zalo_simulator import SimulatorConfig, start

pytestmark = pytest.mark.broker

QN = {"Authorization": "Bearer hoso-demo-quangninh"}
TH = {"Authorization": "Bearer hoso-demo-thanhhoa"}


def read_topic(settings, topic: str) -> list:
    """Every record now in ``topic`` (all partitions, from the start)."""
    consumer = KafkaConsumer(**kafka_python(settings), enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end = consumer.end_offsets(tps)
        records = []
        deadline = time.monotonic() + 10
        while any(consumer.position(tp) < end[tp] for tp in tps) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


@pytest.fixture
def topics(settings):
    t = settings.topics
    create_topics(kafka_python(settings), t)
    return t


async def test_accepted_events_are_in_kafka_when_the_reply_arrives_and_a_replay_is_accepted_again(settings, topics):
    batch = [event(sequence=1), event("IN_PROCESS", sequence=2), {"event_id": "broken"}]
    foreign = event(sequence=3)
    async with await start_gateway(settings, port=0) as gw, httpx.AsyncClient(base_url=gw.url) as http:
        r = await http.post("/v1/dossier-events", json=batch, headers=QN)
        assert r.status_code == 207 and r.json()["accepted"] == 2
        on_topic = read_topic(settings, topics.dossier_events.name)  # read right after the reply: already there
        assert sorted(orjson.loads(m.value)["event_id"] for m in on_topic) == sorted(e["event_id"] for e in batch[:2])
        assert {m.key for m in on_topic} == {batch[0]["data"]["ma_ho_so"].encode()}

        again = await http.post("/v1/dossier-events", json=batch[0], headers=QN)
        assert again.status_code == 200 and again.json() == {"accepted": 1, "rejected": []}
        forbidden = await http.post("/v1/dossier-events", json=foreign, headers=TH)
        assert forbidden.status_code == 403
    ids = [orjson.loads(m.value)["event_id"] for m in read_topic(settings, topics.dossier_events.name)]
    assert len(ids) == 3 and foreign["event_id"] not in ids  # the replay is a copy the streams drop by event_id


async def test_an_area_alert_is_written_to_every_partition_of_the_broadcast_topic(settings, topics):
    alert = {"broadcast_id": "lu-22-1", "area_level": "PROVINCE", "area_code": "22", "text": "Cảnh báo lũ."}
    async with await start_gateway(settings, port=0) as gw, httpx.AsyncClient(base_url=gw.url) as http:
        r = await http.post("/v1/broadcasts", json=alert, headers={"Authorization": "Bearer hoso-demo-operator"})
        assert r.status_code == 200, r.text
    records = read_topic(settings, topics.broadcasts.name)
    assert sorted(m.partition for m in records) == list(range(topics.broadcasts.partitions))
    assert {orjson.loads(m.value)["broadcast_id"] for m in records} == {"lu-22-1"}


async def test_an_alert_is_refused_whole_when_the_broadcast_topic_does_not_match_the_partition_count(settings, topics):
    misconfigured = settings.replace(partitions=2)  # the cluster's topics have 4: a copy per partition would miss two
    alert = {"broadcast_id": "lu-22-2", "area_level": "PROVINCE", "area_code": "22", "text": "Cảnh báo lũ."}
    async with await start_gateway(misconfigured, port=0) as gw, httpx.AsyncClient(base_url=gw.url) as http:
        r = await http.post("/v1/broadcasts", json=alert, headers={"Authorization": "Bearer hoso-demo-operator"})
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "kafka_unavailable" and "hoso topics create" in r.json()["reason"]
    assert read_topic(settings, topics.broadcasts.name) == []


DOSSIER = "000.00.49.H22-251120-0099"
SYNC_PAYLOAD = {
    "madonvi": "000.00.49.H22",
    "isUpdating": "False",
    "data": [
        {
            "MaHoSo": DOSSIER,
            "MaTTHC": "1.005129",
            "TenTTHC": "Cấp giấy phép xây dựng",
            "KenhThucHien": "1",
            "ChuHoSo": "Trần Văn Minh",
            "SoDienThoai": "0987 654 321",
            "DongYNhanZalo": "1",
            "NgayNopHoSo": "20251120080000",
            "NgayTiepNhan": "20251120083000",
            "NgayHenTra": "20251201170000",
            "TrangThaiHoSo": "2",
            "DonViXuLy": "Sở Xây dựng Quảng Ninh",
        }
    ],
}


@pytest.mark.e2e
@pytest.mark.timeout(240)
async def test_a_dongbohosomc_payload_reaches_the_citizen_as_the_right_zalo_message(settings, topics, tmp_path):
    settings = settings.replace(quiet_hours="")  # the test must not depend on the hour it runs at
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
                unknown = orjson.loads(orjson.dumps(SYNC_PAYLOAD))
                unknown["data"][0]["TrangThaiHoSo"] = "11"
                r = await http.post("/v1/dvcqg/DongBoHoSoMC", json=unknown, headers=QN)
                assert r.status_code == 422
                assert [(x["index"], x["path"]) for x in r.json()["rejected"]] == [(0, "data[0].TrangThaiHoSo")]

                r = await http.post("/v1/dvcqg/DongBoHoSoMC", json=SYNC_PAYLOAD, headers=QN)
                assert r.json() == {"accepted": 1, "rejected": [], "error_code": "00"}
                r = await http.post("/v1/dvcqg/DongBoHoSoMC", json=SYNC_PAYLOAD, headers=QN)  # agency retries
                assert r.status_code == 200

            phone = normalize_phone("0987654321")
            profile = KeyRing.from_file(DEMO_KEYS_FILE).authenticate(QN["Authorization"]).agency.dvcqg
            [mapped] = map_payload(SYNC_PAYLOAD, SYNC, profile, parse_datetime("20251120083000"))
            expected_event = mapped.event.event_id  # ids depend on content, not on when the payload arrived
            tracking = tracking_id_for(str(expected_event), pseudonym(settings.pseudonym_key, "p", phone))
            deadline = time.monotonic() + 150
            while not any(m.tracking_id == tracking for m in sim.state.messages):
                for p in procs:
                    assert p.alive, f"{p.name} died:\n{p.tail()}"
                assert time.monotonic() < deadline, "no Zalo message; worker log:\n" + procs[0].tail()
                await asyncio.sleep(0.5)
            await asyncio.sleep(3)  # a duplicate, if any, would arrive now
        finally:
            for p in procs:
                p.stop()
        mine = [m for m in sim.state.messages if m.tracking_id == tracking]
    assert len(mine) == 1, "the retried payload must not notify twice"
    [message] = mine
    assert message.recipient == phone
    values = " | ".join(str(v) for v in (message.template_data or {}).values()) + " " + (message.text or "")
    assert DOSSIER in values
    assert "Trần Văn Minh" in values
    assert "tiếp nhận" in values.lower()


def test_hoso_gateway_runs_as_a_process_and_stops_cleanly_on_sigterm(settings, topics, tmp_path):
    from hosoctl.processes import free_port, wait_for_port

    port, metrics_port = free_port(), free_port()
    env = {**settings.to_env(), "HOSO_GATEWAY_PORT": str(port), "HOSO_METRICS_PORT": str(metrics_port)}
    proc = Process("gateway", ["gateway"], env, tmp_path / "gateway.log").start()
    try:
        wait_for_port(port, 30, proc.popen)
        assert httpx.get(f"http://127.0.0.1:{port}/healthz").json()["status"] == "ok"
        r = httpx.post(f"http://127.0.0.1:{port}/v1/dossier-events", json=event(), headers=QN)
        assert r.status_code == 200, r.text
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'hoso_gateway_items_total{outcome="accepted",route="/v1/dossier-events"} 1.0' in scraped
    finally:
        code = proc.stop()
    assert code == 0, proc.tail()
    assert "ingest gateway listening on" in proc.tail()
