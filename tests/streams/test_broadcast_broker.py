"""Area alerts on the real broker: a Faust worker process fans out, the dispatcher delivers to the simulator.

Done-when of issue 5: an alert to one province reaches all its subscribers and no one elsewhere.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import orjson
import pytest
from kafka import KafkaProducer

from consumers.dispatcher import Dispatcher
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from producers.broadcast import publish_broadcast
from schemas.common import now_vn
from schemas.notification import tracking_id_for
from streams.followers import subscriber_id
from tests.factories import event
from tests.integration.workers import start_worker, wait_for
from zalo_simulator import SimulatorConfig, start

pytestmark = [pytest.mark.broker, pytest.mark.e2e]


def person(i: int) -> dict:
    return {"ho_ten_hien_thi": f"Người dân {i}", "phone": f"09123{i:05d}", "dong_y_zalo": True}


def dossier_events(settings) -> tuple[list[dict], dict[str, set[str]]]:
    """Dossiers in Quảng Ninh (22) and Hà Nội (01); who follows what, by province."""
    events, followers = [], {"22": set(), "01": set()}
    plan = [("22", "06652", [i]) for i in range(12)] + [("01", "00004", [100 + i]) for i in range(8)]
    plan += [("22", "06655", [0]), ("22", "06655", [200, 201]), ("01", "00004", [200])]  # shared and dual followers
    for n, (tinh, xa, people) in enumerate(plan):
        code = f"000.00.{tinh}.H{tinh}-261128-{n:04d}"
        e = event(
            "RECEIVED",
            sequence=1,
            dossier=code,
            recipients=[person(i) for i in people],
            ma_dvhc={"tinh": tinh, "xa": xa},
        )
        events.append(e)
        for i in people:
            followers[tinh].add(subscriber_id(settings.pseudonym_key, "84" + person(i)["phone"][1:], None))
    return events, followers


async def test_an_alert_to_one_province_reaches_all_its_subscribers_and_no_one_elsewhere(settings, tmp_path):
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    env = {**settings.to_env(), "HOSO_QUIET_HOURS": "", "HOSO_LIFECYCLE_TICK_S": "0.5"}
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        async with await start(SimulatorConfig()) as sim:
            dispatcher = Dispatcher(settings.replace(zalo_zbs_url=sim.url, zalo_oa_url=sim.url))
            task = asyncio.create_task(dispatcher.run())
            try:
                events, followers = dossier_events(settings)
                producer = KafkaProducer(**kafka_python(settings))
                for e in events:
                    producer.send(topics.dossier_events.name, key=e["data"]["ma_ho_so"].encode(), value=orjson.dumps(e))
                producer.flush()
                producer.close()
                received = {
                    tracking_id_for(e["event_id"], subscriber_id(settings.pseudonym_key, "84" + r["phone"][1:], None))
                    for e in events
                    for r in e["data"]["nguoi_nhan_thong_bao"]
                }
                await wait_for(lambda: received <= sim.state.tracking_counts.keys(), 120, "the dossier notices", worker)

                broadcast = {
                    "broadcast_id": "bao-so-9-qn",
                    "area_level": "PROVINCE",
                    "area_code": "22",
                    "text": "Bão số 9 đổ bộ Quảng Ninh đêm nay. Đề nghị người dân không ra khơi.",
                    "issued_by": "Ban Chỉ huy PCTT tỉnh Quảng Ninh",
                    "issued_at": (now_vn() - timedelta(minutes=1)).isoformat(),
                }
                receipt = publish_broadcast(kafka_python(settings), topics, broadcast)
                assert sorted(receipt.offsets) == list(range(settings.partitions))
                everyone = followers["22"] | followers["01"]
                alert_ids = {sid: tracking_id_for("broadcast:bao-so-9-qn", sid) for sid in everyone}
                wanted = {alert_ids[sid] for sid in followers["22"]}
                await wait_for(
                    lambda: wanted <= sim.state.tracking_counts.keys(), 60, "the alert to Quảng Ninh", worker
                )
                await asyncio.sleep(2.0)  # anything wrongly targeted would arrive by now
            finally:
                dispatcher.stop()
                await task
        delivered = set(sim.state.tracking_counts) & set(alert_ids.values())
        assert delivered == wanted
        only_elsewhere = followers["01"] - followers["22"]
        assert not {alert_ids[sid] for sid in only_elsewhere} & delivered
        alerts = [m for m in sim.state.messages if m.tracking_id in wanted]
        assert all(m.template_id == "hoso-alert" for m in alerts)
        log = worker.log_path.read_text()
        assert "broadcast bao-so-9-qn (province 22): partition" in log
    finally:
        worker.stop()
