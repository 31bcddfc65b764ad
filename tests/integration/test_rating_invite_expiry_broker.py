"""Survey invitations do not live for ever: the worker purges them from its table once their life is over.

Real broker, the worker as a process, the dispatcher and the Zalo simulator. The invitation's life is shortened
to seconds (``HOSO_RATING_INVITE_TTL_DAYS``) and the scan runs every second (``HOSO_OVERDUE_SCAN_S``): the
invitation is written to the ``rating_invites`` changelog when the ZBS survey goes out, deleted there (a
tombstone, so compaction drops it) once it lapsed, and a rating given through the template after that records
nothing: it names no invitation any more and is parked with the reason.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from consumers.dispatcher import Dispatcher
from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import Process
from producers.publisher import Publisher
from producers.webhook import WebhookReceiver
from tests.factories import event
from tests.integration.test_citizen_chat_broker import PHONE_RECIPIENT, read
from zalo_simulator import SimulatorConfig, start

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

LIFE_S = 15.0


def changelog(settings) -> list[tuple[bytes, bytes | None]]:
    consumer = KafkaConsumer(
        settings.topics.rating_invites_changelog.name,
        **kafka_python(settings),
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
        group_id=None,
    )
    try:
        return [(r.key, r.value) for r in consumer]
    finally:
        consumer.close()


async def test_a_lapsed_invitation_is_purged_and_a_late_rating_records_nothing(settings, tmp_path: Path):
    create_topics(kafka_python(settings), settings.topics)
    receiver = WebhookReceiver(settings)
    url = await receiver.start(host="127.0.0.1", port=0)
    async with await start(SimulatorConfig(receipt_delay_s=0.05, webhook_url=url)) as sim:
        settings = settings.replace(
            zalo_zbs_url=sim.url,
            zalo_oa_url=sim.url,
            zalo_oauth_url=sim.url,
            quiet_hours="",
            survey_delay_s=0.0,
            settle_s=0.5,
            rating_invite_ttl_days=LIFE_S / 86400,
            overdue_scan_s=1.0,
        )
        worker = Process("worker", ["worker"], settings.to_env(), tmp_path / "worker.log").start()
        dispatcher = Dispatcher(settings)
        dispatching = asyncio.create_task(dispatcher.run())
        publisher = Publisher(kafka_python(settings), settings.topics.dossier_events.name)
        try:
            publisher.publish(event("RECEIVED", sequence=1, recipients=PHONE_RECIPIENT))
            publisher.publish(event("RESULT_RETURNED", sequence=2, recipients=PHONE_RECIPIENT))

            def surveys() -> list:
                return [m for m in sim.state.messages if m.template_id == "hoso-survey-invited"]

            async with asyncio.timeout(180):  # the worker needs a while to join the group
                while not surveys():
                    assert worker.alive, worker.tail()
                    await asyncio.sleep(0.5)
            [invitation] = surveys()
            tracking = invitation.tracking_id.encode()

            async with asyncio.timeout(60):
                while not any(k == tracking and v for k, v in changelog(settings)):
                    await asyncio.sleep(0.5)
            written = [v for k, v in changelog(settings) if k == tracking and v]
            assert orjson.loads(written[0])["tracking_id"] == invitation.tracking_id

            async with asyncio.timeout(LIFE_S + 60):
                while not any(k == tracking and v is None for k, v in changelog(settings)):
                    assert worker.alive, worker.tail()
                    await asyncio.sleep(1)
            assert changelog(settings)[-1] == (tracking, None), "the tombstone is the invitation's last word"

            async with httpx.AsyncClient(timeout=30) as http:
                answer = await http.post(f"{sim.url}/_sim/rate", json={"message": invitation.tracking_id, "rate": 5})
                assert answer.status_code == 200 and answer.json()["webhook_status"] == 200
            async with asyncio.timeout(60):
                while not any(
                    "no survey invitation" in r.value.decode() for r in read(settings, "dossier_events_invalid")
                ):
                    await asyncio.sleep(0.5)
            assert read(settings, "ratings") == []
        finally:
            worker.stop()
            dispatcher.stop()
            await dispatching
            publisher.close()
            await receiver.stop()
