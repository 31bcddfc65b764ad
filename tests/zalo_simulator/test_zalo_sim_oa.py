"""OA v3 endpoints: consultation text, template by UID, magic user ids, retired v2 API."""

from __future__ import annotations

import re

import pytest
from zalo_sim_helpers import TOKEN

from zalo_simulator import MAGIC_USER_IDS

pytestmark = pytest.mark.asyncio


async def _cs(client, sim, body):
    return (await client.post(f"{sim.url}/v3.0/oa/message/cs", json=body, headers={"access_token": TOKEN})).json()


async def test_cs_text_message_success_shape(sim, client):
    resp = await _cs(client, sim, {"recipient": {"user_id": "2468013579"}, "message": {"text": "Xin chào"}})
    assert resp["error"] == 0
    data = resp["data"]
    assert re.fullmatch(r"[0-9a-f]{32}", data["message_id"])
    assert data["user_id"] == "2468013579"
    assert data["sent_time"].isdigit()
    assert data["quota"] == {"quota_type": "reply", "remain": "8", "total": "8"}
    assert sim.state.messages[0].text == "Xin chào"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"message": {"text": "hi"}}, -201),
        ({"recipient": {"user_id": "abc"}, "message": {"text": "hi"}}, -201),
        ({"recipient": {"user_id": "123"}}, -201),
        ({"recipient": {"user_id": "123"}, "message": {"text": ""}}, -201),
        ({"recipient": {"user_id": "123"}, "message": {"text": "x" * 2001}}, -210),
    ],
)
async def test_cs_validation_codes(sim, client, body, code):
    assert (await _cs(client, sim, body))["error"] == code


async def test_cs_text_of_2000_chars_is_accepted(sim, client):
    assert (await _cs(client, sim, {"recipient": {"user_id": "1"}, "message": {"text": "x" * 2000}}))["error"] == 0


@pytest.mark.parametrize(("user_id", "code"), sorted(MAGIC_USER_IDS.items()))
async def test_magic_user_ids_fail_with_their_code(sim, client, user_id, code):
    assert (await _cs(client, sim, {"recipient": {"user_id": user_id}, "message": {"text": "hi"}}))["error"] == code


async def test_template_by_uid_returns_message_id(sim, client):
    body = {"user_id": "2468013579", "template_id": "412345", "template_data": {"ma_ho_so": "H29-1"}}
    resp = await client.post(f"{sim.url}/v3.0/oa/message/template", json=body, headers={"access_token": TOKEN})
    data = resp.json()["data"]
    assert re.fullmatch(r"[0-9a-f]{32}", data["message_id"])
    log = (await client.get(f"{sim.url}/_sim/messages")).json()["messages"]
    assert log[0]["user_id"] == "2468013579" and log[0]["msg_id"] == data["message_id"]
    bad = {**body, "template_data": {}}
    resp = await client.post(f"{sim.url}/v3.0/oa/message/template", json=bad, headers={"access_token": TOKEN})
    assert resp.json()["error"] == -111


async def test_v2_message_api_is_shut_down(sim, client):
    resp = await client.post(f"{sim.url}/v2.0/oa/message", json={}, headers={"access_token": TOKEN})
    assert resp.json()["error"] == -240
