"""Vietnam-local time rules: the 22:00-06:00 night ban and the midnight quota reset."""

from __future__ import annotations

import pytest
from zalo_sim_helpers import FakeClock, send_template, stats, template_body, vn_epoch

pytestmark = pytest.mark.asyncio


@pytest.mark.parametrize(
    ("hour", "minute", "second", "code"),
    [(21, 59, 59, 0), (22, 0, 0, -133), (23, 30, 0, -133), (0, 0, 0, -133), (5, 59, 59, -133), (6, 0, 0, 0)],
)
async def test_night_ban_follows_vietnam_time(start_sim, client, hour, minute, second, code):
    sim = await start_sim(night_ban=True, clock=FakeClock(vn_epoch(2026, 3, 2, hour, minute, second)))
    assert (await send_template(client, sim)).json()["error"] == code


async def test_night_ban_rejections_do_not_use_quota(start_sim, client):
    clock = FakeClock(vn_epoch(2026, 3, 2, 5, 59, 0))
    sim = await start_sim(night_ban=True, clock=clock, faults="quota=1")
    assert (await send_template(client, sim)).json()["error"] == -133
    clock.advance(60)
    assert (await send_template(client, sim)).json()["error"] == 0


async def test_quota_resets_at_midnight_vietnam_time_not_utc(start_sim, client):
    clock = FakeClock(vn_epoch(2026, 3, 2, 6, 30))  # 23:30 UTC the day before
    sim = await start_sim(clock=clock, faults="quota=2")
    codes = [(await send_template(client, sim, template_body(tracking_id=f"a{i}"))).json()["error"] for i in range(3)]
    assert codes == [0, 0, -144]

    clock.advance(3600)  # 07:30 VN = 00:30 UTC: a new UTC day, same VN day
    assert (await send_template(client, sim, template_body(tracking_id="b"))).json()["error"] == -144

    clock.t = vn_epoch(2026, 3, 2, 23, 59, 59)
    assert (await send_template(client, sim, template_body(tracking_id="c"))).json()["error"] == -144
    clock.t = vn_epoch(2026, 3, 3, 0, 0, 0)
    resp = (await send_template(client, sim, template_body(tracking_id="d"))).json()
    assert resp["error"] == 0
    assert resp["data"]["quota"] == {"dailyQuota": "2", "remainingQuota": "1"}

    s = await stats(client, sim)
    assert s["quota"]["hoso-demo-oa"]["used_by_day"] == {"2026-03-02": 2, "2026-03-03": 1}
    assert s["quota"]["hoso-demo-oa"]["remaining_today"] == 1


async def test_clock_control_endpoint_moves_simulated_time(start_sim, client):
    sim = await start_sim(night_ban=True, clock=FakeClock(vn_epoch(2026, 3, 2, 21, 0)))
    assert (await send_template(client, sim)).json()["error"] == 0
    resp = await client.post(f"{sim.url}/_sim/clock", json={"shift_s": 3600})
    assert resp.json()["vn_time"].startswith("2026-03-02T22:00:00")
    assert (await send_template(client, sim)).json()["error"] == -133
    target_ms = int(vn_epoch(2026, 3, 3, 8, 0) * 1000)
    resp = await client.post(f"{sim.url}/_sim/clock", json={"set_ms": target_ms})
    assert resp.json()["now_ms"] == target_ms
    assert (await send_template(client, sim)).json()["error"] == 0
    assert (await client.post(f"{sim.url}/_sim/clock", json={"bogus": 1})).status_code == 400
