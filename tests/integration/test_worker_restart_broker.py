"""A worker killed mid-run comes back on its changelogs, not on local stores that may be ahead of them.

Real broker, the worker as a process on one state folder across restarts. A held message (a TRANSFERRED notice
waiting out its settle time) is in the ``dossier_hold`` changelog when the worker is SIGKILLed; the restarted
worker discards its local stores, restores from the changelogs, and still releases the message. A worker
stopped with SIGTERM leaves the clean-stop marker, and the next start keeps its stores.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from producers.publisher import Publisher
from streams.local_state import CLEAN_STOP_MARKER
from tests.factories import event
from tests.integration.workers import start_worker, wait_for

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

DISCARDED = "did not stop cleanly: local tables discarded"


def records(settings, topic: str) -> list[tuple[bytes | None, bytes | None]]:
    consumer = KafkaConsumer(
        topic, **kafka_python(settings), auto_offset_reset="earliest", consumer_timeout_ms=2000, group_id=None
    )
    try:
        return [(r.key, r.value) for r in consumer]
    finally:
        consumer.close()


def notified(settings, status: str) -> int:
    return sum(
        orjson.loads(v).get("trang_thai") == status for _, v in records(settings, settings.topics.notifications.name)
    )


async def test_a_killed_worker_restores_from_the_changelogs_and_still_releases_what_was_held(settings, tmp_path: Path):
    settings = settings.replace(quiet_hours="", settle_s=20.0, lifecycle_tick_s=0.5)
    create_topics(kafka_python(settings), settings.topics)
    datadir = settings.state_dir / settings.app_id
    publisher = Publisher(kafka_python(settings), settings.topics.dossier_events.name)
    worker = start_worker(settings, tmp_path / "worker-1.log")
    try:
        publisher.publish(event("RECEIVED", sequence=1))
        publisher.publish(event("TRANSFERRED", sequence=2))
        hold = settings.topics.dossier_hold_changelog.name
        await wait_for(lambda: any(v for _, v in records(settings, hold)), 120, "the hold never reached its changelog")
        await wait_for(lambda: notified(settings, "RECEIVED") == 1, 30, "RECEIVED was not announced", worker)
        assert notified(settings, "TRANSFERRED") == 0, "released before its settle time"
        worker.kill()
        assert not (datadir / CLEAN_STOP_MARKER).exists()
        assert any(datadir.iterdir()), "the killed worker left local stores behind"

        worker = start_worker(settings, tmp_path / "worker-2.log")
        await wait_for(
            lambda: notified(settings, "TRANSFERRED") == 1, 120, "the held TRANSFERRED was never released", worker
        )
        assert DISCARDED in (tmp_path / "worker-2.log").read_text()
        assert worker.stop() == 0
        assert (datadir / CLEAN_STOP_MARKER).exists(), "a clean stop leaves the marker"

        worker = start_worker(settings, tmp_path / "worker-3.log")
        await wait_for(lambda: not (datadir / CLEAN_STOP_MARKER).exists(), 60, "the marker was not consumed", worker)
        await asyncio.sleep(2)
        assert DISCARDED not in (tmp_path / "worker-3.log").read_text(), "stores discarded after a clean stop"
    finally:
        worker.stop()
        publisher.close()
    assert notified(settings, "TRANSFERRED") == 1 and notified(settings, "RECEIVED") == 1
