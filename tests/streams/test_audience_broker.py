"""Area broadcasts to OA followers on the real broker: a worker process, the dispatcher and the Zalo simulator.

Done-when of issue 20 (audiences): an EMERGENCY and a POLICY broadcast both reach an OA follower without a
dossier; a citizen following two dossiers (on different partitions) and the province gets each broadcast once;
``hoso broadcast --dry-run``'s count, read from the table changelogs, is the number of people then reached, and
it sends nothing (a sent dry run would be a second POLICY message to the same citizens).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import timedelta

import orjson
import pytest
from kafka import KafkaProducer

from consumers.dispatcher import Dispatcher
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.broadcast_preview import preview
from producers.broadcast import publish_broadcast
from schemas.broadcast import Broadcast
from schemas.common import now_vn, pseudonym
from schemas.notification import tracking_id_for
from streams.fanout import partition_of
from tests.factories import event
from tests.integration.workers import start_worker, wait_for
from zalo_simulator import SimulatorConfig, start

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

LAN = "5830000000000000011"  # follows two Quảng Ninh dossiers by chat and asks for the province's news
MINH = "5830000000000000012"  # follows the OA, no dossier
HUONG = "5830000000000000013"  # asks for Hà Nội's news only
PHONE = "0912000111"  # agency consent on a Quảng Ninh dossier (ZBS by phone)
ALERT = "Lũ quét tại các xã miền núi Quảng Ninh. Đề nghị người dân không qua ngầm, tràn."
NEWS = "Từ 01/01/2027, hồ sơ nộp trực tuyến được giảm 50% lệ phí."


def codes_on_two_partitions(partitions: int) -> list[str]:
    """Two Quảng Ninh dossier codes that Kafka places on different partitions."""
    found: dict[int, str] = {}
    n = 0
    while len(found) < 2:
        code = f"000.00.49.H22-261129-{n:04d}"
        found.setdefault(partition_of(code.encode(), partitions), code)
        n += 1
    return list(found.values())


def zalo_event(key: str, user: str, name: str, text: str | None = None) -> tuple[bytes, bytes]:
    payload = {"event_name": name, "follower": {"id": user}}
    if text is not None:
        payload = {"event_name": name, "sender": {"id": user}, "message": {"msg_id": uuid.uuid4().hex, "text": text}}
    record = {
        "event_id": uuid.uuid4().hex,
        "event_name": name,
        "server": "OA",
        "zalo_user_id": user,
        "oa_id": "hoso-demo-oa",
        "received_at": now_vn().isoformat(),
        "signature_variant": "app_id",
        "payload": payload,
    }
    return pseudonym(key, "z", user).encode(), orjson.dumps(record)


def broadcast(bid: str, kind: str, text: str) -> Broadcast:
    return Broadcast.model_validate(
        {
            "broadcast_id": bid,
            "area_level": "PROVINCE",
            "area_code": "22",
            "text": text,
            "issued_by": "UBND tỉnh Quảng Ninh",
            "issued_at": (now_vn() - timedelta(minutes=1)).isoformat(),
            "priority": kind,
        }
    )


async def test_emergency_and_policy_reach_oa_followers_once_each_and_the_dry_run_counts_them(settings, tmp_path):
    topics = settings.topics
    key = settings.pseudonym_key.get_secret_value()
    client = kafka_python(settings)
    create_topics(client, topics)
    env = {**settings.to_env(), "HOSO_QUIET_HOURS": "", "HOSO_LIFECYCLE_TICK_S": "0.5"}
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        async with await start(SimulatorConfig()) as sim:
            dispatcher = Dispatcher(settings.replace(zalo_zbs_url=sim.url, zalo_oa_url=sim.url, quiet_hours=""))
            task = asyncio.create_task(dispatcher.run())
            try:
                producer = KafkaProducer(**client)
                lan_codes = codes_on_two_partitions(settings.partitions)
                for code in lan_codes:
                    e = event("RECEIVED", dossier=code, recipients=[])
                    producer.send(topics.dossier_events.name, key=code.encode(), value=orjson.dumps(e))
                by_phone = event(
                    "RECEIVED",
                    dossier="000.00.49.H22-261129-9000",
                    recipients=[{"ho_ten_hien_thi": "Trần Văn Minh", "phone": PHONE, "dong_y_zalo": True}],
                )
                hanoi = event(
                    "RECEIVED",
                    dossier="000.00.12.H24-261129-0001",
                    ma_dvhc={"tinh": "01", "xa": "00070"},
                    recipients=[{"phone": "0912000222", "dong_y_zalo": True}],
                )
                for e in (by_phone, hanoi):
                    key_ = e["data"]["ma_ho_so"].encode()
                    producer.send(topics.dossier_events.name, key=key_, value=orjson.dumps(e))
                producer.flush()
                chat = [
                    zalo_event(key, MINH, "follow"),
                    zalo_event(key, HUONG, "user_send_text", "theo doi ha noi"),
                    zalo_event(key, LAN, "user_send_text", f"DK {lan_codes[0]}"),
                    zalo_event(key, LAN, "user_send_text", f"theo doi {lan_codes[1]} cam on"),
                    zalo_event(key, LAN, "user_send_text", "Theo dõi tỉnh Quảng Ninh ạ"),
                ]
                for k, v in chat:
                    producer.send(topics.zalo_events.name, key=k, value=v)
                producer.flush()
                producer.close()

                alert, news = broadcast("lu-quet-qn", "EMERGENCY", ALERT), broadcast("giam-le-phi", "POLICY", NEWS)
                await wait_for(
                    lambda: preview(settings, client, alert).total == 3,
                    120,
                    "the follows to reach the tables (PHONE, LAN, MINH)",
                    worker,
                    every=0.5,
                )
                counted = preview(settings, client, alert)
                assert (counted.dossier_followers, counted.oa_audience, counted.total) == (2, 2, 3)
                assert preview(settings, client, news).total == 2, "policy news: the OA audience only"
                dry_run = ["broadcast", "--area", "22", "--text", NEWS, "--kind", "POLICY", "--dry-run"]
                shown = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "hosoctl.cli",
                    *dry_run,
                    env={**os.environ, **settings.to_env()},
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                out, err = await asyncio.wait_for(shown.communicate(), 120)
                assert shown.returncode == 0, err.decode()
                assert b"would reach 2 people" in out and b"nothing was sent" in out

                publish_broadcast(client, topics, alert)
                publish_broadcast(client, topics, news)

                def texts_to(recipient: str, text: str) -> int:
                    return sum(1 for m in sim.state.messages if m.recipient == recipient and m.text == text)

                phone = "84" + PHONE[1:]
                by_phone_alert = tracking_id_for("broadcast:lu-quet-qn", pseudonym(key, "p", phone))

                def zbs_alerts() -> int:
                    return sim.state.tracking_counts.get(by_phone_alert, 0)

                await wait_for(
                    lambda: (
                        all(texts_to(who, ALERT) for who in (LAN, MINH))
                        and zbs_alerts()
                        and all(texts_to(who, NEWS) for who in (LAN, MINH))
                    ),
                    120,
                    "the alert and the news at the simulator",
                    worker,
                    every=0.5,
                )
                await asyncio.sleep(3.0)  # a second copy would arrive by now
            finally:
                dispatcher.stop()
                await task
        assert [texts_to(who, ALERT) for who in (LAN, MINH, HUONG)] == [1, 1, 0]
        assert zbs_alerts() == 1
        assert [texts_to(who, NEWS) for who in (LAN, MINH, HUONG)] == [1, 1, 0]
        hanoi_sid = pseudonym(key, "p", "84912000222")
        assert tracking_id_for("broadcast:lu-quet-qn", hanoi_sid) not in sim.state.tracking_counts
        assert not [
            m
            for m in sim.state.messages
            if m.recipient == phone and m.tracking_id != by_phone_alert and m.template_id == "hoso-alert"
        ], "no policy news by phone"
    finally:
        worker.stop()
