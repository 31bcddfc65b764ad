"""Citizens on Zalo end to end: signed webhooks → Kafka → Faust worker → dispatcher → Zalo simulator.

The worker runs as a process (``python -m hosoctl.cli worker``), the webhook receiver, the dispatcher and the
simulator in this test's event loop. What the citizen received is read from the simulator's record of
OA consultation messages, never from the pipeline's own counters.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from consumers.dispatcher import Dispatcher
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import Process, free_port
from producers.publisher import Publisher
from producers.webhook import WebhookReceiver
from schemas.topics import ZBS_DELIVERY_TABLE, changelog_name
from tests.factories import DOSSIER, event
from zalo_simulator import SimulatorConfig, receipt_signature, start

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

USER = "5830000000000000001"
CS = "/v3.0/oa/message/cs"
PHONE_RECIPIENT = [{"ho_ten_hien_thi": "Nguyễn Thị Lan", "phone": "0912345678", "dong_y_zalo": True}]


def text_event(text: str, msg_id: str | None = None) -> bytes:
    return orjson.dumps(
        {
            "app_id": "hoso-demo-app",
            "sender": {"id": USER},
            "recipient": {"id": "hoso-demo-oa"},
            "user_id_by_app": "999",
            "event_name": "user_send_text",
            "message": {"msg_id": msg_id or uuid.uuid4().hex, "text": text},
            "timestamp": str(time.time_ns() // 1_000_000),  # now: older calls are ignored
        }
    )


def headers(body: bytes, secret: str = "hoso-demo-oa-secret") -> dict[str, str]:
    ts = orjson.loads(body)["timestamp"]
    return {"X-ZEvent-Signature": "mac=" + receipt_signature("hoso-demo-app", body, ts, secret)}


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.1)
    assert predicate(), what


def read(settings, topic: str) -> list:
    """Every record now in one of the catalogue's topics (by field name)."""
    name = getattr(settings.topics, topic).name
    consumer = KafkaConsumer(
        name, **kafka_python(settings), auto_offset_reset="earliest", consumer_timeout_ms=3000, group_id=None
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def changelog_keys(settings, topic: str) -> set[bytes]:
    consumer = KafkaConsumer(
        topic, **kafka_python(settings), auto_offset_reset="earliest", consumer_timeout_ms=3000, group_id=None
    )
    try:
        return {r.key for r in consumer}
    finally:
        consumer.close()


async def test_a_citizen_follows_looks_up_and_stops_by_chat(settings, tmp_path: Path):
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    receiver = WebhookReceiver(settings)
    url = await receiver.start(host="127.0.0.1", port=0)
    # The simulator posts signed ZNS delivery receipts for phone sends to the receiver, as Zalo would.
    async with await start(SimulatorConfig(receipt_delay_s=0.05, webhook_url=url)) as sim:
        # Quiet hours off: the test must not depend on the time of day it runs.
        settings = settings.replace(
            zalo_zbs_url=sim.url,
            zalo_oa_url=sim.url,
            zalo_oauth_url=sim.url,
            quiet_hours="",
            collapse_window_s=0.0,
            streams_web_port=free_port(),
            operator_key="op-key",
        )
        worker = Process("worker", ["worker"], settings.to_env(), tmp_path / "worker.log").start()
        dispatcher = Dispatcher(settings)
        dispatching = asyncio.create_task(dispatcher.run())
        publisher = Publisher(kafka_python(settings), topics.dossier_events.name)
        try:
            publisher.publish(event("RECEIVED", sequence=1, recipients=PHONE_RECIPIENT))

            def to_user() -> list[str]:
                return [m.text or "" for m in sim.state.messages if m.endpoint == CS and m.recipient == USER]

            async with httpx.AsyncClient(timeout=10) as http:

                async def say(text: str, *, msg_id: str | None = None, secret: str = "hoso-demo-oa-secret") -> int:
                    body = text_event(text, msg_id)
                    return (await http.post(url, content=body, headers=headers(body, secret))).status_code

                # The worker needs a while to join its group; ask until the dossier is known.
                async with asyncio.timeout(120):
                    while not any("Tình trạng: Đã tiếp nhận hồ sơ" in t for t in to_user()):
                        assert worker.alive, worker.tail()
                        assert await say(f"tc {DOSSIER.lower()}") in (
                            200,
                            503,
                        )  # 503: new topics still electing leaders
                        await asyncio.sleep(3)

                # Forged and unsigned calls are refused and change nothing: nothing reaches Kafka from them.
                assert await say(f"DK {DOSSIER}", secret="not-the-secret") == 401
                body = text_event(f"DK {DOSSIER}")
                assert (await http.post(url, content=body)).status_code == 401
                chats = [orjson.loads(r.value) for r in read(settings, "zalo_events")]
                published = [c["payload"]["message"]["text"] for c in chats if c["event_name"] == "user_send_text"]
                assert published and all(t.startswith("tc ") for t in published)
                assert read(settings, "subscription_changes") == [], "a forged DK registered"
                publisher.publish(event("SUPPLEMENT_REQUESTED", sequence=2, trang_thai_label_vi="Cần bổ sung giấy tờ"))
                # Dossier events and chat commands travel on different topics: wait until the state shows it.
                async with asyncio.timeout(60):
                    while not any("Cần bổ sung giấy tờ" in t for t in to_user()):
                        assert await say(f"TC {DOSSIER}") == 200
                        await asyncio.sleep(1)

                # One DK delivered five times (two receivers, so the worker's dedupe is exercised) → one effect.
                before = len(to_user())
                dk = f"msg-dk-{uuid.uuid4().hex}"
                for _ in range(2):
                    assert await say(f"  Đăng   ký {DOSSIER} ", msg_id=dk) == 200
                second = WebhookReceiver(settings)
                url2 = await second.start(host="127.0.0.1", port=0)
                body = text_event(f"  Đăng   ký {DOSSIER} ", dk)
                for retry in range(3):
                    h = {**headers(body), "num_retry": str(retry + 1)}
                    assert (await http.post(url2, content=body, headers=h)).status_code == 200
                await second.stop()
                await wait_for(lambda: len(to_user()) > before, 30, "no DK confirmation")
                await asyncio.sleep(3)
                confirmations = [t for t in to_user()[before:] if t.startswith("Đã đăng ký")]
                assert len(confirmations) == 1 and "Cần bổ sung giấy tờ" in confirmations[0]
                # The next status change reaches the follower.
                publisher.publish(event("PAYMENT_REQUESTED", sequence=3, trang_thai_label_vi="Đang thẩm định hồ sơ"))
                await wait_for(
                    lambda: any("Đang thẩm định hồ sơ" in t and not t.startswith("Hồ sơ số:") for t in to_user()),
                    30,
                    "the follower was not told about the status change",
                )

                # TC answers with the current status, agency and appointment date; this citizen has not proven
                # the dossier is theirs, so the documents asked for are not shown.
                assert await say(f"TRA CỨU {DOSSIER}") == 200
                await wait_for(lambda: to_user()[-1].startswith("Hồ sơ số:"), 30, "no TC answer")
                answer = to_user()[-1]
                assert "Tình trạng: Đang thẩm định hồ sơ" in answer and "Sở Xây dựng Quảng Ninh" in answer
                assert "05/12/2026" in answer and "Bản vẽ thiết kế" not in answer

                # Operators read the same state over HTTP, with their key only.
                api = f"http://127.0.0.1:{settings.streams_web_port}/v1/dossiers/{DOSSIER}"
                assert (await http.get(api)).status_code == 401
                assert (await http.get(api, headers={"Authorization": "Bearer wrong"})).status_code == 401
                looked_up = await http.get(api, headers={"Authorization": "Bearer op-key"})
                assert looked_up.status_code == 200, looked_up.text
                assert looked_up.json()["trang_thai_label_vi"] == "Đang thẩm định hồ sơ"
                missing = await http.get(api + "-X", headers={"Authorization": "Bearer op-key"})
                assert missing.status_code == 404

                # HUY stops further messages for this dossier.
                assert await say(f"huỷ {DOSSIER}") == 200
                await wait_for(lambda: to_user()[-1].startswith("Đã dừng"), 30, "no HUY confirmation")
                await asyncio.sleep(1)
                stopped_at = len(to_user())
                publisher.publish(event("RESULT_READY", sequence=4, trang_thai_label_vi="Đã có kết quả giải quyết"))
                async with asyncio.timeout(60):  # until the worker has applied it (seen through TC)
                    while not any("Tình trạng: Đã có kết quả giải quyết" in t for t in to_user()):
                        assert await say(f"TC {DOSSIER}") == 200
                        await asyncio.sleep(2)
                await asyncio.sleep(2)
                after = to_user()[stopped_at:]
                assert after and all(t.startswith("Hồ sơ số:") for t in after), "a message left after HUY"

                # ZNS receipts for the phone recipient's messages reached the delivery-status table.
                phone_tracking = {m.tracking_id for m in sim.state.messages if m.endpoint == "/message/template"}
                assert phone_tracking
            delivery_log = changelog_name(settings.app_id, ZBS_DELIVERY_TABLE)
            async with asyncio.timeout(30):
                while not phone_tracking <= {k.decode() for k in changelog_keys(settings, delivery_log)}:
                    await asyncio.sleep(1)
        finally:
            publisher.close()
            dispatcher.stop()
            await dispatching
            await receiver.stop()
            worker.stop()
