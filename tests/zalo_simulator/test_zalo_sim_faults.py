"""Fault injection over HTTP: kinds behave like real Zalo failures, rates hold, seeds reproduce."""

from __future__ import annotations

import time

import httpx
import pytest
from zalo_sim_helpers import send_template, stats, template_body

pytestmark = pytest.mark.asyncio


async def _outcomes(client: httpx.AsyncClient, sim, n: int) -> list[str]:
    out = []
    for i in range(n):
        resp = await send_template(client, sim, template_body(tracking_id=f"HS-{i}"))
        out.append(str(resp.status_code) if resp.status_code != 200 else str(resp.json()["error"]))
    return out


async def test_fault_rates_are_roughly_as_configured(start_sim, client):
    n = 800
    sim = await start_sim(faults="5xx=0.1,rate_limit=0.1,unknown=0.05", seed=7)
    outcomes = await _outcomes(client, sim, n)
    http_5xx = sum(o in ("500", "502", "503") for o in outcomes)
    rate_limited = outcomes.count("-32")
    unknown = outcomes.count("-100")
    ok = outcomes.count("0")
    # Binomial bounds at about 4.5 standard deviations: fail only on a real bias.
    assert 40 <= http_5xx <= 120
    assert 40 <= rate_limited <= 120
    assert 12 <= unknown <= 68
    assert ok == n - http_5xx - rate_limited - unknown
    s = await stats(client, sim)
    assert s["faults_injected"] == {"5xx": http_5xx, "timeout": 0, "rate_limit": rate_limited, "unknown": unknown}
    assert s["accepted"] == ok
    assert s["requests"] == n
    assert s["by_endpoint"]["/message/template"]["http_5xx"] == http_5xx


async def test_same_seed_gives_the_same_faults(start_sim, client):
    spec = "5xx=0.2,rate_limit=0.2,unknown=0.1,latency=1ms"
    a = await _outcomes(client, await start_sim(faults=spec, seed=99), 60)
    b = await _outcomes(client, await start_sim(faults=spec, seed=99), 60)
    c = await _outcomes(client, await start_sim(faults=spec, seed=100), 60)
    assert a == b
    assert a != c


async def test_rate_limit_fault_is_minus_32_with_http_200(start_sim, client):
    sim = await start_sim(faults="rate_limit=1")
    resp = await send_template(client, sim)
    assert resp.status_code == 200
    assert resp.json()["error"] == -32
    assert sim.state.accepted == 0


async def test_unknown_fault_is_minus_100_with_http_200(start_sim, client):
    sim = await start_sim(faults="unknown=1")
    resp = await send_template(client, sim)
    assert (resp.status_code, resp.json()["error"]) == (200, -100)


async def test_5xx_fault_gives_a_real_http_5xx_and_no_message(start_sim, client):
    sim = await start_sim(faults="5xx=1")
    statuses = {(await send_template(client, sim)).status_code for _ in range(30)}
    assert statuses <= {500, 502, 503} and len(statuses) > 1
    assert sim.state.accepted == 0


async def test_timeout_fault_records_the_message_then_holds_the_response(start_sim, client):
    sim = await start_sim(faults="timeout=1,timeout_hold=400ms")
    with pytest.raises(httpx.ReadTimeout):
        await client.post(
            f"{sim.url}/message/template",
            json=template_body(tracking_id="HS-dup"),
            headers={"access_token": "sim-demo-access-token"},
            timeout=0.1,
        )
    # The message was accepted although the client never saw the answer.
    assert sim.state.accepted == 1
    # A patient client eventually gets the normal success body.
    started = time.monotonic()
    resp = await send_template(client, sim, template_body(tracking_id="HS-dup"))
    assert time.monotonic() - started >= 0.35
    assert resp.json()["error"] == 0
    s = await stats(client, sim)
    assert s["faults_injected"]["timeout"] == 2
    assert s["duplicates"] == 1
    # Only the first answer found its caller gone; the patient one was delivered.
    assert s["accepted_unanswered"] == 1


async def test_fixed_latency_delays_every_zalo_request_but_not_control(start_sim, client):
    sim = await start_sim(faults="latency=fixed:60ms")
    started = time.monotonic()
    assert (await send_template(client, sim)).json()["error"] == 0
    assert time.monotonic() - started >= 0.055
    started = time.monotonic()
    await client.get(f"{sim.url}/_sim/health")
    assert time.monotonic() - started < 0.055


async def test_faults_can_be_changed_at_run_time(sim, client):
    assert (await send_template(client, sim)).json()["error"] == 0
    resp = await client.post(f"{sim.url}/_sim/faults", json={"spec": "rate_limit=1"})
    assert resp.json()["rate_limit"] == 1.0
    assert (await send_template(client, sim)).json()["error"] == -32
    resp = await client.post(f"{sim.url}/_sim/faults", json={"rate_limit": 0, "quota": 7})
    assert resp.json()["spec"] == "quota=7"
    assert (await send_template(client, sim)).json()["data"]["quota"]["dailyQuota"] == "7"
    await client.post(f"{sim.url}/_sim/faults", content=b"none")
    assert (await client.get(f"{sim.url}/_sim/faults")).json()["spec"] == "none"


async def test_bad_fault_spec_is_refused_with_400_naming_the_part(sim, client):
    resp = await client.post(f"{sim.url}/_sim/faults", content=b"5xx=0.1,bogus=3")
    assert resp.status_code == 400
    assert "bogus=3" in resp.json()["detail"]


async def test_faults_apply_to_the_token_endpoint_too(start_sim, client):
    sim = await start_sim(faults="5xx=1")
    resp = await client.post(
        f"{sim.url}/v4/oa/access_token",
        data={"app_id": "hoso-demo-app", "grant_type": "refresh_token", "refresh_token": "sim-demo-refresh-token"},
        headers={"secret_key": "hoso-demo-app-secret"},
    )
    assert resp.status_code >= 500
