"""An agency whose Kafka client partitions by CRC32 (librdkafka's default: Confluent's .NET, Go and Python
clients) writes straight to the dossier topic while a citizen follows the dossier by chat.

Faust tables are read on the partition a record arrived on; followers, holds and lifecycle ticks live on the
murmur2 partition of the dossier code. The worker must move the agency's records there first, or the chat
follower is not found and held or survey messages are never released. What the citizen received is read
from the Zalo simulator.
"""

from __future__ import annotations

import asyncio
import zlib
from pathlib import Path

import httpx
import orjson
import pytest
from kafka import KafkaProducer

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from hosoctl.processes import free_port
from streams.fanout import partition_of
from tests.factories import event
from tests.integration.webhooks import post_signed, text_from
from tests.integration.workers import ask_until, start_worker, wait_for
from tests.integration.zalo_stack import zalo_stack

pytestmark = [pytest.mark.broker, pytest.mark.e2e]

USER = "5830000000000000077"


def crc32_partition(key: bytes, partitions: int) -> int:
    """librdkafka's ``consistent`` / ``consistent_random`` partitioner for a keyed record."""
    return zlib.crc32(key) % partitions


def dossier_off_murmur2(partitions: int) -> str:
    """A dossier code whose CRC32 partition is not its murmur2 partition (the case that broke the tables)."""
    for n in range(1, 10_000):
        code = f"000.00.49.H22-261129-{n:04d}"
        if crc32_partition(code.encode(), partitions) != partition_of(code.encode(), partitions):
            return code
    raise AssertionError("no such code")


@pytest.mark.timeout(400)
async def test_a_crc32_partitioning_producer_reaches_a_chat_follower_and_held_messages_are_released(
    settings, tmp_path: Path
):
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    P = topics.dossier_events.partitions
    dossier = dossier_off_murmur2(P)
    key = dossier.encode()
    async with zalo_stack(
        settings,
        quiet_hours="",
        collapse_window_s=0.0,
        settle_s=1.0,
        survey_delay_s=2.0,
        lifecycle_tick_s=0.5,
        streams_web_port=free_port(),
    ) as stack:
        settings = stack.settings
        worker = start_worker(settings, tmp_path / "worker.log")
        # The agency's own client: explicit partitions as librdkafka computes them, nothing of ours.
        agency = KafkaProducer(**kafka_python(settings), acks="all")

        def publish(status: str, sequence: int, label: str) -> None:
            e = event(status, sequence=sequence, dossier=dossier, recipients=[], trang_thai_label_vi=label)
            agency.send(
                topics.dossier_events.name, key=key, value=orjson.dumps(e), partition=crc32_partition(key, P)
            ).get(timeout=30)

        def to_user() -> list[str]:
            return stack.to_user(USER)

        try:
            publish("RECEIVED", 1, "Đã tiếp nhận hồ sơ")
            async with httpx.AsyncClient(timeout=10) as http:

                async def say(text: str) -> int:
                    return await post_signed(http, stack.url, text_from(USER, text))

                # The worker needs a while to join its group; ask until the dossier is known, then follow it.
                await ask_until(
                    lambda: say(f"TC {dossier}"),
                    lambda: any("Tình trạng: Đã tiếp nhận hồ sơ" in t for t in to_user()),
                    worker,
                    timeout=180,
                )
                assert await say(f"DK {dossier}") == 200
                await wait_for(lambda: any(t.startswith("Đã đăng ký") for t in to_user()), 60, "no DK reply", worker)

            publish("SUPPLEMENT_REQUESTED", 2, "Cần bổ sung giấy tờ")
            await wait_for(
                lambda: any("Tình trạng: Cần bổ sung giấy tờ" in t for t in to_user()),
                60,
                "no supplement notice",
                worker,
            )
            # A low-value status is held (collapse window, settle) and released by the lifecycle timer.
            publish("IN_PROCESS", 3, "Đang xử lý")
            await wait_for(
                lambda: any("Tình trạng: Đang xử lý" in t for t in to_user()), 60, "IN_PROCESS never released", worker
            )
            # The result, then the survey invitation the timer sends survey_delay later.
            publish("RESULT_RETURNED", 4, "Đã trả kết quả")
            await wait_for(
                lambda: any("Tình trạng: Đã trả kết quả" in t for t in to_user()), 60, "no result notice", worker
            )
            await wait_for(
                lambda: any("đánh giá" in t.split("Tình trạng:")[-1] for t in to_user()),
                60,
                "survey never released",
                worker,
            )
            await asyncio.sleep(2)
            # A chat follower without proof of ownership gets the public-level notice (issue 14).
            notices = [t for t in to_user() if "đã được cập nhật" in t]
            assert len(notices) == 4, notices  # supplement, in process, returned, survey: each once
        finally:
            agency.close()
            worker.stop()
