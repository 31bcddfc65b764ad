"""The Zalo webhook receiver on the real broker: unsigned, forged and replayed calls, big and slow bodies.

A call is only written to Kafka when its signature is right; a replay of an accepted call is answered 200
without a second write; oversized bodies are refused; a client that dribbles its body must not hold the
connection forever.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import orjson
import pytest
from kafka import KafkaConsumer

from hoso.kafka.admin import create_topics
from hoso.kafka.clients import kafka_python
from producers.webhook import WebhookReceiver, sign
from producers.webhook.server import MAX_BODY_BYTES

pytestmark = pytest.mark.broker


def now_ms() -> str:
    """Zalo's timestamp of a call made now (the receiver ignores calls signed outside its replay window)."""
    return str(time.time_ns() // 1_000_000)


def timestamp_of(raw: bytes) -> str:
    try:
        return str(orjson.loads(raw)["timestamp"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return now_ms()


def body(msg_id: str) -> bytes:
    return orjson.dumps(
        {
            "app_id": "hoso-demo-app",
            "sender": {"id": "5830001"},
            "recipient": {"id": "hoso-demo-oa"},
            "event_name": "user_send_text",
            "message": {"msg_id": msg_id, "text": "hello"},
            "timestamp": now_ms(),
        }
    )


def signature(raw: bytes, first_id: str = "hoso-demo-app", secret: str = "hoso-demo-oa-secret") -> str:
    return sign(first_id, raw, timestamp_of(raw), secret)


def stored(settings, topic: str) -> int:
    consumer = KafkaConsumer(
        topic, **kafka_python(settings), auto_offset_reset="earliest", consumer_timeout_ms=2000, group_id=None
    )
    try:
        return len(list(consumer))
    finally:
        consumer.close()


@pytest.fixture
async def receiver(settings):
    topics = settings.topics
    create_topics(kafka_python(settings), topics)
    r = WebhookReceiver(settings)
    url = await r.start(host="127.0.0.1", port=0)
    try:
        yield r, url, topics.zalo_events.name
    finally:
        await r.stop()


async def test_unsigned_and_forged_calls_get_401_and_nothing_is_stored(receiver, settings):
    _r, url, topic = receiver
    raw = body("m-forged")
    tampered = raw.replace(b"hello", b"HELLO")
    attempts = [
        (raw, {}),
        (raw, {"X-ZEvent-Signature": ""}),
        (raw, {"X-ZEvent-Signature": "0" * 64}),
        (raw, {"X-ZEvent-Signature": signature(raw, secret="not-the-secret")}),
        (raw, {"X-ZEvent-Signature": signature(raw, first_id="another-app")}),
        (tampered, {"X-ZEvent-Signature": signature(raw)}),  # body changed after signing
        (b"not json", {"X-ZEvent-Signature": signature(b"not json")}),
        (raw, {"X-ZEvent-Signature": (signature(raw)[:-1] + "é").encode()}),  # non-ASCII bytes
    ]
    async with httpx.AsyncClient(timeout=10) as http:
        for data, headers in attempts:
            resp = await http.post(url, content=data, headers={"Content-Type": "application/json", **headers})
            assert resp.status_code == 401, (data[:40], headers)
    assert stored(settings, topic) == 0


async def test_a_replayed_signed_call_is_answered_200_without_a_second_write(receiver, settings):
    _r, url, topic = receiver
    raw = body("m-replay")
    headers = {"Content-Type": "application/json", "X-ZEvent-Signature": signature(raw)}
    async with httpx.AsyncClient(timeout=10) as http:
        first = await http.post(url, content=raw, headers=headers)
        replays = [await http.post(url, content=raw, headers=headers) for _ in range(3)]
    assert first.status_code == 200
    assert all(x.status_code == 200 and x.json().get("duplicate") for x in replays)
    assert stored(settings, topic) == 1


async def test_an_oversized_body_is_refused_with_413(receiver, settings):
    _r, url, topic = receiver
    raw = b'{"pad": "' + b"x" * MAX_BODY_BYTES + b'"}'
    async with httpx.AsyncClient(timeout=10) as http:
        resp = await http.post(
            url, content=raw, headers={"Content-Type": "application/json", "X-ZEvent-Signature": signature(raw)}
        )
    assert resp.status_code == 413
    assert stored(settings, topic) == 0


async def test_a_slow_client_does_not_hold_the_connection_forever(receiver):
    r, _url, _topic = receiver
    raw = body("m-slow")
    reader, writer = await asyncio.open_connection("127.0.0.1", r.port)
    head = (
        "POST /zalo/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"X-ZEvent-Signature: {signature(raw)}\r\nContent-Length: {len(raw)}\r\n\r\n"
    )
    writer.write(head.encode() + raw[:5])
    await writer.drain()
    started = time.monotonic()

    async def dribble() -> None:
        for b in raw[5:]:
            await asyncio.sleep(0.5)
            writer.write(bytes([b]))
            await writer.drain()

    trickle = asyncio.create_task(dribble())
    try:
        line = await asyncio.wait_for(reader.readline(), timeout=12)
    except TimeoutError:
        line = b""
    finally:
        trickle.cancel()
        writer.close()
    assert line.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 12, line
