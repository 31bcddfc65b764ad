"""Citizens on Zalo end to end: signed webhooks → Kafka → Faust worker → dispatcher → Zalo simulator.

The worker runs as a process (``python -m hosoctl.cli worker``), the webhook receiver, the dispatcher and the
simulator in this test's event loop. What the citizen received is read from the simulator's record of
OA consultation messages, never from the pipeline's own counters.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import free_port
from producers.webhook import WebhookReceiver
from schemas.topics import ZBS_DELIVERY_TABLE, changelog_name
from tests.factories import DOSSIER, event
from tests.integration.webhooks import OA_SECRET, post_signed, signed, text_from
from tests.integration.workers import ask_until, start_worker, wait_for
from tests.integration.zalo_stack import ZBS, zalo_stack

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

USER = "5830000000000000001"
PHONE_RECIPIENT = [{"ho_ten_hien_thi": "Nguyễn Thị Lan", "phone": "0912345678", "dong_y_zalo": True}]


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
    create_topics(kafka_python(settings), settings.topics)
    # Quiet hours off: the test must not depend on the time of day it runs.
    async with zalo_stack(
        settings, quiet_hours="", collapse_window_s=0.0, streams_web_port=free_port(), operator_key="op-key"
    ) as stack:
        settings, url, sim, publisher = stack.settings, stack.url, stack.sim, stack.publisher
        worker = start_worker(settings, tmp_path / "worker.log")
        try:
            publisher.publish(event("RECEIVED", sequence=1, recipients=PHONE_RECIPIENT))

            def to_user() -> list[str]:
                return stack.to_user(USER)

            async with httpx.AsyncClient(timeout=10) as http:

                async def say(text: str, *, msg_id: str | None = None, secret: str = OA_SECRET) -> int:
                    return await post_signed(http, url, text_from(USER, text, msg_id), secret)

                # The worker needs a while to join its group; ask until the dossier is known.
                await ask_until(
                    lambda: say(f"tc {DOSSIER.lower()}"),
                    lambda: any("Tình trạng: Đã tiếp nhận hồ sơ" in t for t in to_user()),
                    worker,
                )

                # Forged and unsigned calls are refused and change nothing: nothing reaches Kafka from them.
                assert await say(f"DK {DOSSIER}", secret="not-the-secret") == 401
                body = text_from(USER, f"DK {DOSSIER}")
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
                body = text_from(USER, f"  Đăng   ký {DOSSIER} ", dk)
                for retry in range(3):
                    h = {**signed(body), "num_retry": str(retry + 1)}
                    assert (await http.post(url2, content=body, headers=h)).status_code == 200
                await second.stop()
                await wait_for(lambda: len(to_user()) > before, 30, "no DK confirmation", worker)
                await asyncio.sleep(3)
                confirmations = [t for t in to_user()[before:] if t.startswith("Đã đăng ký")]
                assert len(confirmations) == 1 and "Cần bổ sung giấy tờ" in confirmations[0]
                # The next status change reaches the follower.
                publisher.publish(event("PAYMENT_REQUESTED", sequence=3, trang_thai_label_vi="Đang thẩm định hồ sơ"))
                await wait_for(
                    lambda: any("Đang thẩm định hồ sơ" in t and not t.startswith("Hồ sơ số:") for t in to_user()),
                    30,
                    "the follower was not told about the status change",
                    worker,
                )

                # TC answers with the current status, agency and appointment date; this citizen has not proven
                # the dossier is theirs, so the documents asked for are not shown.
                assert await say(f"TRA CỨU {DOSSIER}") == 200
                await wait_for(lambda: to_user()[-1].startswith("Hồ sơ số:"), 30, "no TC answer", worker)
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
                await wait_for(lambda: to_user()[-1].startswith("Đã dừng"), 30, "no HUY confirmation", worker)
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
                phone_tracking = {m.tracking_id for m in sim.state.messages if m.endpoint == ZBS}
                assert phone_tracking
            delivery_log = changelog_name(settings.app_id, ZBS_DELIVERY_TABLE)
            async with asyncio.timeout(30):
                while not phone_tracking <= {k.decode() for k in changelog_keys(settings, delivery_log)}:
                    await asyncio.sleep(1)
        finally:
            worker.stop()
