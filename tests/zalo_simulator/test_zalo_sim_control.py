"""The /_sim/ control API: stats, duplicates, tracking ids, message log, reset, health."""

from __future__ import annotations

import pytest
from zalo_sim_helpers import send_template, stats, template_body

pytestmark = pytest.mark.asyncio


async def test_duplicates_are_counted_by_tracking_id(sim, client):
    for tid in ["HS-1", "HS-2", "HS-1", "HS-3", "HS-1", "HS-2"]:
        assert (await send_template(client, sim, template_body(tracking_id=tid))).json()["error"] == 0
    s = await stats(client, sim)
    assert s["accepted"] == 6
    assert s["unique_tracking_ids"] == 3
    assert s["duplicates"] == 3

    ids = (await client.get(f"{sim.url}/_sim/tracking-ids")).json()
    assert ids["counts"] == {"HS-1": 3, "HS-2": 2, "HS-3": 1}
    assert ids["duplicates"] == 3 and ids["unique"] == 3
    dup_only = (await client.get(f"{sim.url}/_sim/tracking-ids", params={"min_count": 2})).json()
    assert dup_only["counts"] == {"HS-1": 3, "HS-2": 2}


async def test_stats_report_requests_outcomes_and_error_codes(sim, client):
    await send_template(client, sim)
    await send_template(client, sim, template_body(phone="123"))
    await send_template(client, sim, template_body(phone="84999000141"))
    await send_template(client, sim, token="expired-or-bogus")
    await client.get(f"{sim.url}/message/quota", headers={"access_token": "sim-demo-access-token"})
    s = await stats(client, sim)
    assert s["requests"] == 5
    assert s["accepted"] == 1
    assert s["by_endpoint"]["/message/template"] == {
        "requests": 4,
        "ok": 1,
        "errors": 3,
        "http_5xx": 0,
        "accepted": 1,
    }
    assert s["by_endpoint"]["/message/quota"]["ok"] == 1
    assert s["by_error_code"] == {"-141": 1, "-124": 1, "-108": 1, "0": 2}
    assert s["faults_injected"] == {"5xx": 0, "timeout": 0, "rate_limit": 0, "unknown": 0}
    assert s["token_refreshes"] == {"total": 0, "by_oa": {"hoso-demo-oa": 0}}
    assert s["quota"]["hoso-demo-oa"]["used_today"] == 1
    assert s["quota"]["hoso-demo-oa"]["daily_quota"] == 1_000_000
    assert s["receipts"] is None


async def test_message_log_lists_accepted_messages_in_order_with_payloads(sim, client):
    msg_ids = []
    for i in range(5):
        body = template_body(tracking_id=f"HS-{i}", template_data={"ma_ho_so": f"H29-{i}", "so_thu_tu": i})
        msg_ids.append((await send_template(client, sim, body)).json()["data"]["msg_id"])
    page = (await client.get(f"{sim.url}/_sim/messages", params={"offset": 1, "limit": 2})).json()
    assert page["total"] == 5
    assert [m["tracking_id"] for m in page["messages"]] == ["HS-1", "HS-2"]
    first = page["messages"][0]
    assert first["msg_id"] == msg_ids[1]
    assert first["phone"] == "84987654321"
    assert first["template_data"] == {"ma_ho_so": "H29-1", "so_thu_tu": 1}
    assert first["template_id"] == "412345"
    assert first["endpoint"] == "/message/template"
    assert first["oa_id"] == "hoso-demo-oa"
    assert isinstance(first["received_at"], int)
    by_tid = (await client.get(f"{sim.url}/_sim/messages", params={"tracking_id": "HS-3"})).json()
    assert [m["msg_id"] for m in by_tid["messages"]] == [msg_ids[3]]
    assert sim.state.messages[4].template_data == {"ma_ho_so": "H29-4", "so_thu_tu": 4}


async def test_reset_clears_recordings_but_keeps_tokens_unless_asked(sim, client):
    await send_template(client, sim)
    await client.post(
        f"{sim.url}/v4/oa/access_token",
        data={"app_id": "hoso-demo-app", "grant_type": "refresh_token", "refresh_token": "sim-demo-refresh-token"},
        headers={"secret_key": "hoso-demo-app-secret"},
    )
    assert (await client.post(f"{sim.url}/_sim/reset")).json()["tokens_reset"] is False
    s = await stats(client, sim)
    assert (s["requests"], s["accepted"], s["duplicates"]) == (0, 0, 0)
    assert (await send_template(client, sim)).json()["error"] == -124  # still rotated
    await client.post(f"{sim.url}/_sim/reset", json={"tokens": True})
    assert (await send_template(client, sim)).json()["error"] == 0


async def test_health_endpoint(sim, client):
    resp = await client.get(f"{sim.url}/_sim/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "oas": ["hoso-demo-oa"]}
