"""A citizen rating a ZBS template message: the signed ``user_feedback`` event the simulator posts."""

from __future__ import annotations

import orjson
import pytest
from test_zalo_sim_receipts import Webhook, expected_signature, webhook  # noqa: F401 (fixture)
from zalo_sim_helpers import TOKEN, send_template, template_body

from zalo_simulator import DEMO_OA

pytestmark = pytest.mark.asyncio


def ratings(hook: Webhook) -> list[tuple[dict[str, str], bytes]]:
    return [(h, raw) for h, raw in hook.posts if orjson.loads(raw)["event_name"] == "user_feedback"]


async def test_a_rated_zbs_message_posts_a_signed_feedback_event_naming_the_message(start_sim, client, webhook):  # noqa: F811 (the fixture)
    sim = await start_sim(webhook_url=webhook.url, receipt_delay_s=60)
    sent = (await send_template(client, sim, template_body(phone="0912345678", tracking_id="ab12cd"))).json()
    msg_id = sent["data"]["msg_id"]

    answer = await client.post(
        f"{sim.url}/_sim/rate",
        json={"message": "ab12cd", "rate": 4, "note": "Cán bộ nhiệt tình", "feedbacks": ["Đúng hẹn"]},
    )

    assert answer.status_code == 200 and answer.json()["webhook_status"] == 200
    [(headers, raw)] = ratings(webhook)
    assert headers["X-ZEvent-Server"] == "ZNS"
    assert headers["X-ZEvent-Signature"] == expected_signature(raw)
    event = orjson.loads(raw)
    assert event["sender"] == {"id": DEMO_OA.oa_id} and event["recipient"] == {"id": "84912345678"}
    assert event["message"] == {
        "msg_id": msg_id,
        "tracking_id": "ab12cd",
        "rate": 4,
        "note": "Cán bộ nhiệt tình",
        "feedbacks": ["Đúng hẹn"],
        "submit_time": event["timestamp"],
    }
    assert event["app_id"] == DEMO_OA.app_id and event["timestamp"].isdigit()


async def test_the_message_may_be_named_by_msg_id_and_a_refused_post_is_retried(start_sim, client, webhook):  # noqa: F811 (the fixture)
    sim = await start_sim(webhook_url=webhook.url, receipt_delay_s=60, receipt_retry_delays_s=(0.01, 0.01))
    msg_id = (await send_template(client, sim)).json()["data"]["msg_id"]
    webhook.fail_first = 1

    answer = await client.post(f"{sim.url}/_sim/rate", json={"message": msg_id, "rate": 5})

    assert answer.json()["webhook_status"] == 200
    posts = ratings(webhook)
    assert len(posts) == 2 and posts[0][1] == posts[1][1]
    assert "num_retry" not in posts[0][0] and posts[1][0]["num_retry"] == "1"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"message": "nope", "rate": 3}, 404),
        ({"message": "ab12cd", "rate": 0}, 400),
        ({"message": "ab12cd", "rate": 6}, 400),
        ({"message": "ab12cd", "rate": "5"}, 400),
        ({"message": "ab12cd", "rate": True}, 400),
        ({"rate": 3}, 400),
        ({"message": "ab12cd", "rate": 3, "feedbacks": "tốt"}, 400),
    ],
)
async def test_ratings_zalo_could_not_produce_are_refused(start_sim, client, webhook, body, status):  # noqa: F811 (the fixture)
    sim = await start_sim(webhook_url=webhook.url, receipt_delay_s=60)
    await send_template(client, sim, template_body(tracking_id="ab12cd"))

    answer = await client.post(f"{sim.url}/_sim/rate", json=body)

    assert answer.status_code == status
    assert ratings(webhook) == []


async def test_an_oa_chat_message_has_no_rating_template(start_sim, client, webhook):  # noqa: F811 (the fixture)
    sim = await start_sim(webhook_url=webhook.url)
    body = {"recipient": {"user_id": "1234567890123456789"}, "message": {"text": "Xin chào"}}
    sent = (await client.post(f"{sim.url}/v3.0/oa/message/cs", json=body, headers={"access_token": TOKEN})).json()

    answer = await client.post(f"{sim.url}/_sim/rate", json={"message": sent["data"]["message_id"], "rate": 5})

    assert answer.status_code == 404


async def test_without_a_webhook_there_is_nowhere_to_post(start_sim, client):
    sim = await start_sim()
    await send_template(client, sim, template_body(tracking_id="ab12cd"))

    answer = await client.post(f"{sim.url}/_sim/rate", json={"message": "ab12cd", "rate": 5})

    assert answer.status_code == 409
