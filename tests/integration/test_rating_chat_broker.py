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

from consumers.ratings.sync import RatingSync
from hoso import metrics
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from tests.factories import DOSSIER, event
from tests.integration.agency_system import endpoints
from tests.integration.dispatching import run_until
from tests.integration.test_citizen_chat_broker import USER, read
from tests.integration.webhooks import post_signed, text_from
from tests.integration.workers import ask_until, start_worker
from tests.integration.zalo_stack import zalo_stack

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

CHAT_RECIPIENT = [{"ho_ten_hien_thi": "Nguyễn Thị Lan", "zalo_user_id": USER, "dong_y_zalo": True}]


async def test_a_survey_answered_in_chat_reaches_the_agency_once_across_a_worker_kill(settings, agency, tmp_path: Path):
    create_topics(kafka_python(settings), settings.topics)
    before = metrics.RATINGS.labels("000.00.49.H22", "rat_hai_long")._value.get()
    async with zalo_stack(
        settings,
        receipts=False,
        quiet_hours="",
        survey_delay_s=-1.0,
        ratings_sync_group=f"{settings.topic_prefix}-ratings",
    ) as stack:
        settings, publisher = stack.settings, stack.publisher
        worker = start_worker(settings, tmp_path / "worker.log")
        try:
            publisher.publish(event("RECEIVED", sequence=1, recipients=CHAT_RECIPIENT))
            publisher.publish(
                event("RESULT_RETURNED", sequence=2, recipients=CHAT_RECIPIENT, trang_thai_label_vi="Đã trả kết quả")
            )

            def to_user() -> list[str]:
                return stack.to_user(USER)

            async with httpx.AsyncClient(timeout=10) as http:

                async def say(text: str, msg_id: str | None = None) -> int:
                    return await post_signed(http, stack.url, text_from(USER, text, msg_id))

                # The worker needs a while to join; ask until the result shows.
                await ask_until(
                    lambda: say(f"TC {DOSSIER}"),
                    lambda: any("Tình trạng: Đã trả kết quả" in t for t in to_user()),
                    worker,
                )

                answer = f"msg-rate-{uuid.uuid4().hex}"
                assert await say("3 - cán bộ nhiệt tình", answer) == 200
                async with asyncio.timeout(60):
                    while not any(t.startswith("Cảm ơn Ông/Bà đã đánh giá") for t in to_user()):
                        await asyncio.sleep(0.2)
                thanks = [t for t in to_user() if t.startswith("Cảm ơn")]
                assert len(thanks) == 1 and "Rất hài lòng" in thanks[0] and DOSSIER in thanks[0]

                # Kill the worker hard and deliver the same answer again (Zalo retries webhooks): one rating.
                worker.kill()
                worker = start_worker(settings, tmp_path / "worker2.log")
                assert await say("3 - cán bộ nhiệt tình", answer) == 200
                seen = len(to_user())
                # Until the new worker answers, so it has read the answer too.
                await ask_until(
                    lambda: say(f"TC {DOSSIER}"),
                    lambda: any("Tình trạng: Đã trả kết quả" in t for t in to_user()[seen:]),
                    worker,
                )
                await asyncio.sleep(2)
                assert len([t for t in to_user() if t.startswith("Cảm ơn")]) == 1, "thanked twice"
        finally:
            worker.stop()

    ratings = [orjson.loads(r.value) for r in read(settings, "ratings")]
    assert ratings and {(r["ma_ho_so"], r["muc_do"], r["noi_dung"], r["agency"]) for r in ratings} == {
        (DOSSIER, 3, "cán bộ nhiệt tình", "000.00.49.H22")
    }
    sync = RatingSync(settings, endpoints=endpoints(agency.url), backoff_s=(0.05,))
    await run_until(sync, lambda: sync.handled >= len(ratings))
    assert [(r["MaHoSo"], r["DanhGia"], r["NoiDungDanhGia"]) for r in agency.received] == [
        (DOSSIER, 3, "cán bộ nhiệt tình")
    ]
    assert metrics.RATINGS.labels("000.00.49.H22", "rat_hai_long")._value.get() == before + 1
