"""What the inbox page reads: each message's delivery receipt, the lines citizens typed, the page itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiohttp import web
from test_zalo_sim_receipts import Webhook
from zalo_sim_helpers import send_template, template_body

from zalo_simulator import DEMO_OA

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def hook() -> AsyncIterator[Webhook]:
    """The OA's webhook, recording receipts."""
    receiver = Webhook()
    app = web.Application()
    app.router.add_post("/zalo/webhook", receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/zalo/webhook"
    yield receiver
    await runner.cleanup()


async def messages(client, sim) -> list[dict]:
    return (await client.get(f"{sim.url}/_sim/messages")).json()["messages"]


async def test_a_phone_message_is_sent_then_delivered_and_its_receipt_reported(start_sim, client, hook: Webhook):
    sim = await start_sim(webhook_url=hook.url, receipt_delay_s=0.3)
    assert (await send_template(client, sim)).json()["error"] == 0
    first = (await messages(client, sim))[0]["receipt"]
    assert first == {"status": "sent", "delivery_time": None, "webhook": "waiting"}
    await asyncio.wait_for(hook.arrived.wait(), 5)
    await asyncio.sleep(0.1)
    later = (await messages(client, sim))[0]["receipt"]
    assert later["status"] == "delivered" and later["webhook"] == "posted"
    assert later["delivery_time"] >= (await messages(client, sim))[0]["received_at"]


async def test_a_receipt_the_webhook_never_took_is_shown_as_failed(start_sim, client, hook: Webhook):
    hook.fail_first = 10
    sim = await start_sim(webhook_url=hook.url, receipt_delay_s=0.0, receipt_retry_delays_s=(0.05,))
    await send_template(client, sim)
    for _ in range(50):
        if (await messages(client, sim))[0]["receipt"]["webhook"] == "failed":
            break
        await asyncio.sleep(0.1)
    assert (await messages(client, sim))[0]["receipt"]["webhook"] == "failed"


async def test_oa_chat_messages_have_no_receipt_and_without_a_webhook_none_is_awaited(start_sim, client):
    sim = await start_sim(receipt_delay_s=0.0)
    headers = {"access_token": DEMO_OA.access_token}
    reply = {"recipient": {"user_id": "5830000000000000001"}, "message": {"text": "Hồ sơ: ..."}}
    assert (await client.post(f"{sim.url}/v3.0/oa/message/cs", json=reply, headers=headers)).json()["error"] == 0
    await send_template(client, sim, template_body(phone="0912345678"))
    chat, card = await messages(client, sim)
    assert chat["receipt"] is None
    assert card["receipt"]["status"] == "delivered" and card["receipt"]["webhook"] is None


async def test_typed_lines_are_kept_in_order_and_malformed_reports_refused(sim, client):
    for text in ("DK 000.00.49.H22-261128-0001", "tc  000.00.49.h22-261128-0001"):
        got = await client.post(f"{sim.url}/_sim/typed", json={"user_id": 5830001, "text": text})
        assert got.status_code == 200
    for bad in (b"", b"not json", b'{"user_id": "5830001"}', b'{"user_id": "", "text": "DK"}', b"[]"):
        assert (await client.post(f"{sim.url}/_sim/typed", content=bad)).status_code == 400
    typed = (await client.get(f"{sim.url}/_sim/typed")).json()["typed"]
    assert [t["text"] for t in typed] == ["DK 000.00.49.H22-261128-0001", "tc  000.00.49.h22-261128-0001"]
    assert typed[0]["user_id"] == "5830001" and typed[0]["at"] <= typed[1]["at"]
    assert typed[0]["after"] == typed[1]["after"] == 0


async def test_a_typed_line_says_how_many_messages_came_before_it(sim, client):
    """The page orders a chat by arrival; timestamps alone tie within a millisecond."""
    await client.post(f"{sim.url}/_sim/typed", json={"user_id": "5830001", "text": "DK 000.00.49.H22-261128-0001"})
    reply = {"recipient": {"user_id": "5830001"}, "message": {"text": "Đã đăng ký."}}
    headers = {"access_token": DEMO_OA.access_token}
    assert (await client.post(f"{sim.url}/v3.0/oa/message/cs", json=reply, headers=headers)).json()["error"] == 0
    await client.post(f"{sim.url}/_sim/typed", json={"user_id": "5830001", "text": "TC 000.00.49.H22-261128-0001"})
    typed = (await client.get(f"{sim.url}/_sim/typed")).json()["typed"]
    assert [t["after"] for t in typed] == [0, 1]
    (answer,) = await messages(client, sim)
    assert answer["seq"] == 0
    assert (await client.get(f"{sim.url}/_sim/typed", params={"offset": 1})).json()["typed"] == typed[1:]
    assert (await client.get(f"{sim.url}/_sim/typed", params={"offset": "x"})).status_code == 400


async def test_the_page_and_only_its_own_assets_are_served(sim, client):
    page = await client.get(f"{sim.url}/_sim/inbox")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "/_sim/inbox/inbox.js" in page.text and "Lọc theo mã hồ sơ" in page.text
    script = await client.get(f"{sim.url}/_sim/inbox/inbox.js")
    assert script.status_code == 200 and "textContent" in script.text and "innerHTML" not in script.text
    for name in ("../server.py", "app.py", "%2e%2e%2fserver.py"):
        assert (await client.get(f"{sim.url}/_sim/inbox/{name}")).status_code == 404
