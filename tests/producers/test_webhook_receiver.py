"""The webhook receiver on the real broker: refuses what is not signed, stores what is before answering."""

from __future__ import annotations

import time

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from producers.webhook import WebhookReceiver, sign
from schemas.common import pseudonym

pytestmark = pytest.mark.broker


def now_ms() -> str:
    """Zalo's timestamp of a call made now (the receiver ignores calls signed outside its replay window)."""
    return str(time.time_ns() // 1_000_000)


def timestamp_of(raw: bytes) -> str:
    try:
        return str(orjson.loads(raw)["timestamp"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return now_ms()


def body(msg_id: str, user: str = "5830001") -> bytes:
    return orjson.dumps(
        {
            "app_id": "hoso-demo-app",
            "sender": {"id": user},
            "recipient": {"id": "hoso-demo-oa"},
            "event_name": "user_send_text",
            "message": {"msg_id": msg_id, "text": "TC 000.00.49.H22-261128-0001"},
            "timestamp": now_ms(),
        }
    )


def signed(raw: bytes, first_id: str = "hoso-demo-app", secret: str = "hoso-demo-oa-secret") -> dict[str, str]:
    return {"X-ZEvent-Signature": sign(first_id, raw, timestamp_of(raw), secret)}


def records(settings, topic: str) -> list:
    consumer = KafkaConsumer(
        topic, **kafka_python(settings), auto_offset_reset="earliest", consumer_timeout_ms=2000, group_id=None
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


async def test_only_signed_calls_are_published_and_each_once_before_the_answer(settings):
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    receiver = WebhookReceiver(settings)
    url = await receiver.start(host="127.0.0.1", port=0)
    try:
        async with httpx.AsyncClient(timeout=5) as http:
            forged = body("m-forged")
            assert (await http.post(url, content=forged, headers=signed(forged, secret="guess"))).status_code == 401
            assert (await http.post(url, content=forged)).status_code == 401
            assert (await http.post(url, content=b"not json", headers={"X-ZEvent-Signature": "00"})).status_code == 401

            latencies = []
            for i in range(20):
                raw = body(f"m{i}")
                started = time.perf_counter()
                response = await http.post(url, content=raw, headers=signed(raw))
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200
            oa_first = body("m-oa")
            assert (await http.post(url, content=oa_first, headers=signed(oa_first, "hoso-demo-oa"))).status_code == 200
            for retry in range(4):  # Zalo's retries of m0
                raw = body("m0")
                h = {**signed(raw), "num_retry": str(retry + 1)}
                assert (await http.post(url, content=raw, headers=h)).status_code == 200
    finally:
        await receiver.stop()

    got = records(settings, topics.zalo_events.name)
    ids = [orjson.loads(r.value)["event_id"] for r in got]
    assert sorted(ids) == sorted([f"user_send_text:m{i}" for i in range(20)] + ["user_send_text:m-oa"])
    assert {r.key for r in got} == {pseudonym(settings.pseudonym_key, "z", "5830001").encode()}
    variants = {orjson.loads(r.value)["event_id"]: orjson.loads(r.value)["signature_variant"] for r in got}
    assert variants["user_send_text:m-oa"] == "oa_id" and variants["user_send_text:m1"] == "app_id"
    latencies.sort()
    assert latencies[len(latencies) // 2] < 0.5, f"median answer {latencies[len(latencies) // 2]:.3f}s"


async def test_a_call_kafka_does_not_acknowledge_gets_503_so_zalo_retries(settings):
    receiver = WebhookReceiver(settings)
    url = await receiver.start(host="127.0.0.1", port=0)
    try:
        # A topic that does not exist on a broker that does not auto-create it never acknowledges.
        receiver.topic = f"{settings.topic_prefix}.missing-topic"
        raw = body("m-lost")
        async with httpx.AsyncClient(timeout=5) as http:
            response = await http.post(url, content=raw, headers=signed(raw))
            assert response.status_code == 503
            # Not remembered as accepted: Zalo's retry is tried again.
            assert "user_send_text:m-lost" not in receiver.recent
    finally:
        await receiver.stop()
