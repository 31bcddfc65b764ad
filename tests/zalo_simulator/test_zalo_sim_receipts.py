"""Delivery-receipt webhooks: §6.3 payload, ZNS header, signature, retries."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from zalo_sim_helpers import send_template, stats, template_body

from zalo_simulator import DEMO_OA

pytestmark = pytest.mark.asyncio


@dataclass
class Webhook:
    """A tiny receiver that records raw posts and can fail the first few."""

    url: str = ""
    fail_first: int = 0
    posts: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append((dict(request.headers), await request.read()))
        if len(self.posts) <= self.fail_first:
            return web.Response(status=500)
        self.arrived.set()
        return web.Response(text="ok")


@pytest_asyncio.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    app = web.Application()
    app.router.add_post("/zalo/webhook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo/webhook"
    yield hook
    await runner.cleanup()


def expected_signature(raw: bytes) -> str:
    """Zalo's rule, computed here independently: sha256(app_id + body + timestamp + OA secret)."""
    timestamp = orjson.loads(raw)["timestamp"]
    return hashlib.sha256(
        DEMO_OA.app_id.encode("utf-8") + raw + str(timestamp).encode("utf-8") + DEMO_OA.oa_secret_key.encode("utf-8")
    ).hexdigest()


async def test_delivery_receipt_matches_zalo_payload_and_signature(start_sim, client, webhook):
    sim = await start_sim(webhook_url=webhook.url, receipt_delay_s=0.05)
    sent = (await send_template(client, sim, template_body(phone="0912345678", tracking_id="HS-77"))).json()
    await asyncio.wait_for(webhook.arrived.wait(), 3)

    headers, raw = webhook.posts[0]
    event = orjson.loads(raw)
    assert headers["X-ZEvent-Server"] == "ZNS"
    assert headers["X-ZEvent-Signature"] == expected_signature(raw)
    assert headers["Content-Type"].startswith("application/json")
    assert "num_retry" not in headers
    assert event == {
        "sender": {"id": DEMO_OA.oa_id},
        "recipient": {"id": "84912345678"},
        "event_name": "user_received_message",
        "message": {
            "delivery_time": event["message"]["delivery_time"],
            "msg_id": sent["data"]["msg_id"],
            "tracking_id": "HS-77",
        },
        "app_id": DEMO_OA.app_id,
        "timestamp": event["timestamp"],
    }
    assert isinstance(event["timestamp"], str) and event["timestamp"].isdigit()
    assert int(event["message"]["delivery_time"]) == int(sent["data"]["sent_time"]) + 50


async def test_failed_receipt_is_retried_with_num_retry_header(start_sim, client, webhook):
    webhook.fail_first = 2
    sim = await start_sim(webhook_url=webhook.url, receipt_delay_s=0.0, receipt_retry_delays_s=(0.02, 0.02, 0.02))
    await send_template(client, sim)
    await asyncio.wait_for(webhook.arrived.wait(), 3)
    assert [h.get("num_retry") for h, _ in webhook.posts] == [None, "1", "2"]
    assert len({raw for _, raw in webhook.posts}) == 1  # same event, same signature
    receipts = (await stats(client, sim))["receipts"]
    assert receipts["delivered"] == 1 and receipts["retried"] == 2 and receipts["failed"] == 0


async def test_receipt_gives_up_after_the_last_retry(start_sim, client, webhook):
    webhook.fail_first = 10
    sim = await start_sim(webhook_url=webhook.url, receipt_delay_s=0.0, receipt_retry_delays_s=(0.01,))
    await send_template(client, sim)
    for _ in range(100):
        if sim.simulator.receipts.counters.failed:
            break
        await asyncio.sleep(0.01)
    assert len(webhook.posts) == 2
    assert sim.simulator.receipts.counters.failed == 1


async def test_hash_phone_receipt_reports_the_hash(start_sim, client, webhook):
    sim = await start_sim(webhook_url=webhook.url, receipt_delay_s=0.0)
    hashed = hashlib.sha256(b"84987654321").hexdigest()
    await client.post(
        f"{sim.url}/message/template/hashphone",
        json={**template_body(), "hash_phone": hashed},
        headers={"access_token": DEMO_OA.access_token},
    )
    await asyncio.wait_for(webhook.arrived.wait(), 3)
    assert orjson.loads(webhook.posts[0][1])["recipient"] == {"id": hashed}


async def test_receipts_only_for_accepted_messages(start_sim, client, webhook):
    sim = await start_sim(webhook_url=webhook.url, receipt_delay_s=0.0)
    await send_template(client, sim, template_body(phone="84999000118"))
    await send_template(client, sim, template_body(tracking_id="ok"))
    await asyncio.wait_for(webhook.arrived.wait(), 3)
    await asyncio.sleep(0.05)
    assert len(webhook.posts) == 1
