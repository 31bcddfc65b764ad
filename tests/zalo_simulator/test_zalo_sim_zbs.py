"""ZBS send-by-phone behaviour: success shape, quota, validation codes, magic numbers, status."""

from __future__ import annotations

import hashlib
import re

import pytest
from zalo_sim_helpers import TOKEN, send_template, stats, template_body

from zalo_simulator import MAGIC_HASH_PHONES, MAGIC_NUMBERS

pytestmark = pytest.mark.asyncio


async def test_successful_send_has_zalo_shape_and_decrements_quota(start_sim, client):
    sim = await start_sim(faults="quota=500")
    first = await send_template(client, sim, template_body(tracking_id="HS-1"))
    second = await send_template(client, sim, template_body(tracking_id="HS-2"))

    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/json")
    body = first.json()
    assert body["error"] == 0 and body["message"] == "Success"
    data = body["data"]
    assert re.fullmatch(r"[0-9a-f]{20}", data["msg_id"])
    assert isinstance(data["sent_time"], str) and data["sent_time"].isdigit() and len(data["sent_time"]) == 13
    assert data["sending_mode"] == "1"
    assert data["quota"] == {"dailyQuota": "500", "remainingQuota": "499"}
    assert second.json()["data"]["quota"]["remainingQuota"] == "498"
    assert second.json()["data"]["msg_id"] != data["msg_id"]


@pytest.mark.parametrize("phone", ["0987654321", "84987654321", "+84987654321", "987654321"])
async def test_accepted_phone_forms_are_recorded_normalised(sim, client, phone):
    resp = await send_template(client, sim, template_body(phone=phone))
    assert resp.json()["error"] == 0
    assert sim.state.messages[-1].recipient == "84987654321"


@pytest.mark.parametrize(
    "phone",
    ["", "12345", "0987 654 321", "0987-654-321", "84187654321", "849876543210", "+0987654321", 84987654321, None],
)
async def test_invalid_phone_is_rejected_with_108(sim, client, phone):
    resp = await send_template(client, sim, template_body(phone=phone))
    assert resp.status_code == 200
    assert resp.json()["error"] == -108


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"template_id": None}, -109),
        ({"template_id": ""}, -109),
        ({"template_id": ["x"]}, -109),
        ({"template_data": None}, -111),
        ({"template_data": {}}, -111),
        ({"template_data": "ho_ten=An"}, -111),
        ({"template_data": {"ho_ten": ["An"]}}, -112),
        ({"template_data": {"ho_ten": None}}, -112),
        ({"template_data": {"ho_ten": True}}, -112),
        ({"template_data": {"ho_ten": ""}}, -1122),
        ({"template_data": {"ho_ten": "x" * 401}}, -1121),
        ({"tracking_id": None}, -1122),
        ({"tracking_id": ""}, -1122),
        ({"tracking_id": 42}, -1124),
        ({"tracking_id": "t" * 49}, -1121),
        ({"sending_mode": "3"}, -162),
        ({"sending_mode": "9"}, -161),
    ],
)
async def test_invalid_payload_gets_zalo_error_code_with_http_200(sim, client, change, code):
    resp = await send_template(client, sim, template_body(**change))
    assert resp.status_code == 200
    body = resp.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert sim.state.accepted == 0


async def test_boundary_values_are_accepted(sim, client):
    body = template_body(tracking_id="t" * 48, template_data={"a": "x" * 400, "so_tien": 150000, "ty_le": 0.5})
    body["template_id"] = 412345
    body["sending_mode"] = "1"
    body["mode"] = "development"
    resp = await send_template(client, sim, body)
    assert resp.json()["error"] == 0
    assert sim.state.messages[0].mode == "development"
    assert sim.state.messages[0].template_id == "412345"


async def test_nfd_text_counts_longer_like_zalo(sim, client):
    nfd = "e\u0301" * 250  # 250 visible letters, 500 code points
    resp = await send_template(client, sim, template_body(template_data={"ghi_chu": nfd}))
    assert resp.json()["error"] == -1121


async def test_body_that_is_not_a_json_object_is_rejected(sim, client):
    resp = await client.post(f"{sim.url}/message/template", content=b"[1, 2]", headers={"access_token": TOKEN})
    assert resp.json()["error"] == -1124
    resp = await client.post(f"{sim.url}/message/template", content=b"{not json", headers={"access_token": TOKEN})
    assert resp.json()["error"] == -1124


@pytest.mark.parametrize("headers", [{}, {"access_token": "nope"}, {"Authorization": f"Bearer {TOKEN}"}])
async def test_missing_or_invalid_token_is_rejected_with_124(sim, client, headers):
    resp = await client.post(f"{sim.url}/message/template", json=template_body(), headers=headers)
    assert resp.status_code == 200
    assert resp.json()["error"] == -124


@pytest.mark.parametrize(("phone", "code"), sorted(MAGIC_NUMBERS.items()))
async def test_magic_number_fails_with_its_code_every_time_without_using_quota(start_sim, client, phone, code):
    sim = await start_sim(faults="quota=1")
    local_form = "0" + phone[2:]
    for form in (phone, local_form, "+" + phone):
        resp = await send_template(client, sim, template_body(phone=form))
        assert resp.json()["error"] == code
    assert sim.state.accepted == 0
    assert (await send_template(client, sim)).json()["error"] == 0  # quota untouched


async def test_hash_phone_send_records_the_hash_and_honours_magic_numbers(sim, client):
    hashed = hashlib.sha256(b"84987654321").hexdigest()
    resp = await client.post(
        f"{sim.url}/message/template/hashphone",
        json={**template_body(), "phone": None, "hash_phone": hashed.upper()},
        headers={"access_token": TOKEN},
    )
    assert resp.json()["error"] == 0
    assert sim.state.messages[0].recipient == hashed
    magic_hash = hashlib.sha256(b"84999000118").hexdigest()
    assert MAGIC_HASH_PHONES[magic_hash] == -118
    resp = await client.post(
        f"{sim.url}/message/template/hashphone",
        json={**template_body(), "hash_phone": magic_hash},
        headers={"access_token": TOKEN},
    )
    assert resp.json()["error"] == -118
    resp = await client.post(
        f"{sim.url}/message/template/hashphone",
        json={**template_body(), "hash_phone": "84987654321"},
        headers={"access_token": TOKEN},
    )
    assert resp.json()["error"] == -108


async def test_quota_exhaustion_returns_144(start_sim, client):
    sim = await start_sim(faults="quota=2")
    codes = [(await send_template(client, sim, template_body(tracking_id=f"t{i}"))).json()["error"] for i in range(4)]
    assert codes == [0, 0, -144, -144]
    quota = (await client.get(f"{sim.url}/message/quota", headers={"access_token": TOKEN})).json()
    assert quota == {"error": 0, "message": "Success", "data": {"dailyQuota": "2", "remainingQuota": "0"}}
    s = await stats(client, sim)
    assert s["quota"]["hoso-demo-oa"]["used_today"] == 2
    assert s["by_error_code"]["-144"] == 2


async def test_message_status_reports_delivery_after_the_receipt_delay(start_sim, client):
    sim = await start_sim(receipt_delay_s=0.2)
    msg_id = (await send_template(client, sim)).json()["data"]["msg_id"]
    url = f"{sim.url}/message/status"
    early = (await client.get(url, params={"message_id": msg_id}, headers={"access_token": TOKEN})).json()
    assert early["error"] == 0 and early["data"]["status"] == 0
    sim.simulator.clock.shift(0.5)
    late = (await client.get(url, params={"message_id": msg_id}, headers={"access_token": TOKEN})).json()
    assert late["data"]["status"] == 1 and late["data"]["delivery_time"].isdigit()
    unknown = (await client.get(url, params={"message_id": "0" * 20}, headers={"access_token": TOKEN})).json()
    assert unknown["data"]["status"] == -1
    missing = (await client.get(url, headers={"access_token": TOKEN})).json()
    assert missing["error"] == -107
    no_token = (await client.get(url, params={"message_id": msg_id})).json()
    assert no_token["error"] == -124


async def test_night_ban_off_by_default_even_at_midnight(start_sim, client):
    from zalo_sim_helpers import FakeClock, vn_epoch

    sim = await start_sim(clock=FakeClock(vn_epoch(2026, 3, 2, 23, 30)))
    assert (await send_template(client, sim)).json()["error"] == 0
