"""A captured, correctly signed webhook call (a citizen's ``DK`` or ``HUY``) replayed later has no effect: not
after the freshness window, not after the receiver restarted, not at another replica.

"No effect" is judged at the boundary everything downstream acts on: nothing more reaches ``zalo-events.v1``.
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
from producers.webhook.replay import is_fresh

pytestmark = pytest.mark.broker

DOSSIER = "000.00.49.H22-261128-0001"


def call(text: str, msg_id: str, at_s: float) -> tuple[bytes, dict[str, str]]:
    raw = orjson.dumps(
        {
            "app_id": "hoso-demo-app",
            "sender": {"id": "5830009"},
            "recipient": {"id": "hoso-demo-oa"},
            "event_name": "user_send_text",
            "message": {"msg_id": msg_id, "text": text},
            "timestamp": str(int(at_s * 1000)),
        }
    )
    ts = orjson.loads(raw)["timestamp"]
    return raw, {"X-ZEvent-Signature": sign("hoso-demo-app", raw, ts, "hoso-demo-oa-secret")}


def stored_ids(settings) -> list[str]:
    consumer = KafkaConsumer(
        settings.topics.zalo_events.name,
        **kafka_python(settings),
        auto_offset_reset="earliest",
        consumer_timeout_ms=2000,
        group_id=None,
    )
    try:
        return [orjson.loads(r.value)["event_id"] for r in consumer]
    finally:
        consumer.close()


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def test_a_call_replayed_after_the_window_is_ignored(settings):
    create_topics(kafka_python(settings), settings.topics)
    settings = settings.replace(webhook_max_age_s=300.0)
    clock = Clock()
    receiver = WebhookReceiver(settings, clock=clock)
    url = await receiver.start(host="127.0.0.1", port=0)
    try:
        async with httpx.AsyncClient(timeout=10) as http:
            raw, headers = call(f"HUY {DOSSIER}", "m-huy-1", clock.now)
            assert (await http.post(url, content=raw, headers=headers)).status_code == 200
            clock.now += 301  # the captured HUY, sent again six minutes later
            replay = await http.post(url, content=raw, headers=headers)
            assert replay.status_code == 200 and replay.json()["ok"] is False  # 200: Zalo must not retry it
            # A call signed far ahead of our clock is no better (a forger who knows the secret would try it).
            ahead, ahead_headers = call(f"DK {DOSSIER}", "m-dk-ahead", clock.now + 3600)
            assert (await http.post(url, content=ahead, headers=ahead_headers)).json()["ok"] is False
            # A fresh call still goes through.
            fresh, fresh_headers = call(f"DK {DOSSIER}", "m-dk-2", clock.now - 5)
            assert (await http.post(url, content=fresh, headers=fresh_headers)).json() == {"ok": True}
    finally:
        await receiver.stop()
    assert stored_ids(settings) == ["user_send_text:m-huy-1", "user_send_text:m-dk-2"]


async def test_a_call_replayed_after_a_restart_or_at_another_replica_is_not_stored_again(settings):
    create_topics(kafka_python(settings), settings.topics)
    first = WebhookReceiver(settings)
    url = await first.start(host="127.0.0.1", port=0)
    raw, headers = call(f"DK {DOSSIER}", "m-dk-restart", time.time())
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.post(url, content=raw, headers=headers)).json() == {"ok": True}
        await first.stop()

        restarted = WebhookReceiver(settings)  # a new process: nothing in memory
        url = await restarted.start(host="127.0.0.1", port=0)
        sibling = WebhookReceiver(settings)
        sibling_url = await sibling.start(host="127.0.0.1", port=0)
        try:
            again = await http.post(url, content=raw, headers=headers)
            assert again.status_code == 200 and again.json().get("duplicate") is True

            # A call accepted by one replica is known to the other a moment later.
            other, other_headers = call(f"HUY {DOSSIER}", "m-huy-sibling", time.time())
            assert (await http.post(url, content=other, headers=other_headers)).json() == {"ok": True}
            deadline = time.monotonic() + 15
            while "user_send_text:m-huy-sibling" not in sibling.recent:
                assert time.monotonic() < deadline, "the sibling never learnt of the accepted call"
                await asyncio.sleep(0.1)
            replayed = await http.post(sibling_url, content=other, headers=other_headers)
            assert replayed.json().get("duplicate") is True
        finally:
            await restarted.stop()
            await sibling.stop()
    assert stored_ids(settings) == ["user_send_text:m-dk-restart", "user_send_text:m-huy-sibling"]


@pytest.mark.parametrize(
    ("timestamp", "fresh"),
    [
        ("1764300000000", True),
        (1764300000000, True),  # a number where Zalo sends a string
        ("1764299700000", True),  # exactly the window old
        ("1764299699999", False),
        ("1764300300001", False),  # ahead of our clock by more than the window
        ("", False),
        ("  ", False),
        ("1764300000000.0", False),
        (True, False),
        (None, False),
        ("17643000000000000000", False),
    ],
)
def test_freshness_of_a_signed_timestamp(timestamp: object, fresh: bool):
    assert is_fresh(timestamp, now_s=1764300000.0, max_age_s=300.0) is fresh
