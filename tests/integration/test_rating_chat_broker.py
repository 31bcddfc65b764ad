"""A citizen answers the survey in chat, end to end, with a worker killed along the way.

Signed webhook → Kafka → Faust worker (a process, SIGKILLed and restarted) → ratings topic → rating sync-back →
the agency's endpoint (a local HTTP server). The agency must receive the rating exactly once, the citizen be
thanked, and the satisfaction counter move.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import orjson
import pytest

from consumers.dispatcher import Dispatcher
from consumers.ratings.sync import RatingSync
from hoso import metrics
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import Process
from producers.publisher import Publisher
from producers.webhook import WebhookReceiver
from tests.factories import DOSSIER, event
from tests.integration.test_citizen_chat_broker import CS, USER, headers, read, text_event
from tests.integration.test_ratings_sync_broker import AgencySystem, endpoints
from zalo_simulator import SimulatorConfig, start

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

CHAT_RECIPIENT = [{"ho_ten_hien_thi": "Nguyễn Thị Lan", "zalo_user_id": USER, "dong_y_zalo": True}]


@pytest.fixture
async def agency():
    from aiohttp import web

    system = AgencySystem()
    app = web.Application()
    app.router.add_post("/api/danh-gia", system.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    system.url = f"http://127.0.0.1:{runner.addresses[0][1]}/api/danh-gia"
    yield system
    await runner.cleanup()


async def test_a_survey_answered_in_chat_reaches_the_agency_once_across_a_worker_kill(settings, agency, tmp_path: Path):
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    receiver = WebhookReceiver(settings)
    url = await receiver.start(host="127.0.0.1", port=0)
    async with await start(SimulatorConfig()) as sim:
        settings = settings.replace(
            zalo_zbs_url=sim.url,
            zalo_oa_url=sim.url,
            zalo_oauth_url=sim.url,
            quiet_hours="",
            survey_delay_s=-1.0,
            ratings_sync_group=f"{settings.topic_prefix}-ratings",
        )
        log = tmp_path / "worker.log"
        worker = Process("worker", ["worker"], settings.to_env(), log).start()
        dispatcher = Dispatcher(settings)
        dispatching = asyncio.create_task(dispatcher.run())
        publisher = Publisher(kafka_python(settings), topics.dossier_events.name)
        before = metrics.RATINGS.labels("000.00.49.H22", "rat_hai_long")._value.get()
        try:
            publisher.publish(event("RECEIVED", sequence=1, recipients=CHAT_RECIPIENT))
            publisher.publish(
                event("RESULT_RETURNED", sequence=2, recipients=CHAT_RECIPIENT, trang_thai_label_vi="Đã trả kết quả")
            )

            def to_user() -> list[str]:
                return [m.text or "" for m in sim.state.messages if m.endpoint == CS and m.recipient == USER]

            async with httpx.AsyncClient(timeout=10) as http:

                async def say(text: str, msg_id: str | None = None) -> int:
                    body = text_event(text, msg_id)
                    return (await http.post(url, content=body, headers=headers(body))).status_code

                async with asyncio.timeout(120):  # the worker needs a while to join; ask until the result shows
                    while not any("Tình trạng: Đã trả kết quả" in t for t in to_user()):
                        assert worker.alive, worker.tail()
                        assert await say(f"TC {DOSSIER}") in (200, 503)
                        await asyncio.sleep(3)

                answer = f"msg-rate-{uuid.uuid4().hex}"
                assert await say("3 - cán bộ nhiệt tình", answer) == 200
                async with asyncio.timeout(60):
                    while not any(t.startswith("Cảm ơn Ông/Bà đã đánh giá") for t in to_user()):
                        await asyncio.sleep(0.2)
                thanks = [t for t in to_user() if t.startswith("Cảm ơn")]
                assert len(thanks) == 1 and "Rất hài lòng" in thanks[0] and DOSSIER in thanks[0]

                # Kill the worker hard and deliver the same answer again (Zalo retries webhooks): one rating.
                worker.kill()
                worker = Process("worker", ["worker"], settings.to_env(), tmp_path / "worker2.log").start()
                assert await say("3 - cán bộ nhiệt tình", answer) == 200
                seen = len(to_user())
                async with asyncio.timeout(120):  # until the new worker answers, so it has read the answer too
                    while not any("Tình trạng: Đã trả kết quả" in t for t in to_user()[seen:]):
                        assert worker.alive, worker.tail()
                        assert await say(f"TC {DOSSIER}") in (200, 503)
                        await asyncio.sleep(3)
                await asyncio.sleep(2)
                assert len([t for t in to_user() if t.startswith("Cảm ơn")]) == 1, "thanked twice"
        finally:
            worker.stop()
            dispatcher.stop()
            await dispatching
            publisher.close()
            await receiver.stop()

    ratings = [orjson.loads(r.value) for r in read(settings, "ratings")]
    assert ratings and {(r["ma_ho_so"], r["muc_do"], r["noi_dung"], r["agency"]) for r in ratings} == {
        (DOSSIER, 3, "cán bộ nhiệt tình", "000.00.49.H22")
    }
    sync = RatingSync(settings, endpoints=endpoints(agency.url), backoff_s=(0.05,))
    task = asyncio.create_task(sync.run())
    try:
        async with asyncio.timeout(60):
            while sync.handled < len(ratings):
                await asyncio.sleep(0.1)
    finally:
        sync.stop()
        await task
    assert [(r["MaHoSo"], r["DanhGia"], r["NoiDungDanhGia"]) for r in agency.received] == [
        (DOSSIER, 3, "cán bộ nhiệt tình")
    ]
    assert metrics.RATINGS.labels("000.00.49.H22", "rat_hai_long")._value.get() == before + 1
