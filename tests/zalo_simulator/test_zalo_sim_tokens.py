"""OAuth v4 token lifecycle: expiry, rotation, single-use refresh tokens, error codes."""

from __future__ import annotations

import base64
import hashlib

import pytest
from zalo_sim_helpers import TOKEN, FakeClock, refresh, send_template, stats

from zalo_simulator import DEMO_OA

pytestmark = pytest.mark.asyncio


async def test_expired_token_gets_124_then_refresh_works_and_old_token_is_rejected(start_sim, client):
    clock = FakeClock(1_767_000_000.0)
    sim = await start_sim(clock=clock, access_token_ttl_s=60)
    assert (await send_template(client, sim)).json()["error"] == 0

    clock.advance(61)
    assert (await send_template(client, sim)).json()["error"] == -124

    new = await refresh(client, sim, DEMO_OA.refresh_token)
    assert set(new) == {"access_token", "refresh_token", "expires_in"}
    assert new["expires_in"] == "60"
    assert new["access_token"] != TOKEN and new["refresh_token"] != DEMO_OA.refresh_token
    assert (await send_template(client, sim, token=new["access_token"])).json()["error"] == 0
    assert (await send_template(client, sim, token=TOKEN)).json()["error"] == -124


async def test_old_access_token_stops_working_immediately_after_rotation(sim, client):
    assert (await send_template(client, sim)).json()["error"] == 0
    new = await refresh(client, sim, DEMO_OA.refresh_token)
    assert (await send_template(client, sim, token=TOKEN)).json()["error"] == -124
    assert (await send_template(client, sim, token=new["access_token"])).json()["error"] == 0


async def test_default_token_lifetime_is_25_hours(sim, client):
    new = await refresh(client, sim, DEMO_OA.refresh_token)
    assert new["expires_in"] == "90000"


async def test_refresh_token_is_single_use(sim, client):
    first = await refresh(client, sim, DEMO_OA.refresh_token)
    reused = await refresh(client, sim, DEMO_OA.refresh_token)
    assert reused["error"] == -14020
    assert isinstance(reused["message"], str)
    # The pair from the successful refresh keeps working and rotates again.
    second = await refresh(client, sim, first["refresh_token"])
    assert "access_token" in second
    s = await stats(client, sim)
    assert s["token_refreshes"] == {"total": 2, "by_oa": {"hoso-demo-oa": 2}}


async def test_refresh_with_wrong_secret_gets_14004(sim, client):
    resp = await refresh(client, sim, DEMO_OA.refresh_token, secret="not-the-secret")
    assert resp["error"] == -14004
    # A failed attempt does not burn the refresh token.
    assert "access_token" in await refresh(client, sim, DEMO_OA.refresh_token)


async def test_refresh_with_unknown_app_gets_14002(sim, client):
    assert (await refresh(client, sim, DEMO_OA.refresh_token, app_id="someone-else"))["error"] == -14002


async def test_unknown_refresh_token_gets_14014(sim, client):
    assert (await refresh(client, sim, "never-issued"))["error"] == -14014


async def test_expired_refresh_token_gets_14020(start_sim, client):
    clock = FakeClock(1_767_000_000.0)
    sim = await start_sim(clock=clock)
    clock.advance(91 * 86400)
    assert (await refresh(client, sim, DEMO_OA.refresh_token))["error"] == -14020


async def test_unsupported_grant_type_gets_14001(sim, client):
    resp = await client.post(
        f"{sim.url}/v4/oa/access_token",
        data={"app_id": DEMO_OA.app_id, "grant_type": "password", "refresh_token": DEMO_OA.refresh_token},
        headers={"secret_key": DEMO_OA.secret_key},
    )
    assert resp.json()["error"] == -14001


async def test_token_ttl_fault_overrides_lifetime_at_run_time(start_sim, client):
    clock = FakeClock(1_767_000_000.0)
    sim = await start_sim(clock=clock)
    clock.advance(30)
    assert (await send_template(client, sim)).json()["error"] == 0
    resp = await client.post(f"{sim.url}/_sim/faults", content=b"token_ttl=20s")
    assert resp.status_code == 200
    assert (await send_template(client, sim)).json()["error"] == -124
    assert (await refresh(client, sim, DEMO_OA.refresh_token))["expires_in"] == "20"


async def test_forced_expiry_via_control_endpoint(sim, client):
    resp = await client.post(f"{sim.url}/_sim/tokens/expire", json={"oa_id": "hoso-demo-oa"})
    assert resp.json() == {"expired": ["hoso-demo-oa"]}
    assert (await send_template(client, sim)).json()["error"] == -124
    tokens = (await client.get(f"{sim.url}/_sim/tokens")).json()
    assert tokens["hoso-demo-oa"]["access_expires_in_s"] == 0.0


async def test_oa_endpoints_use_216_for_unknown_and_220_for_rotated_tokens(sim, client):
    body = {"recipient": {"user_id": "2468013579"}, "message": {"text": "Hồ sơ của bạn đã được tiếp nhận"}}
    url = f"{sim.url}/v3.0/oa/message/cs"
    assert (await client.post(url, json=body, headers={"access_token": "bogus"})).json()["error"] == -216
    await refresh(client, sim, DEMO_OA.refresh_token)
    assert (await client.post(url, json=body, headers={"access_token": TOKEN})).json()["error"] == -220


async def test_authorization_code_grant_with_pkce(sim, client):
    verifier = "v" * 43
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    code = (await client.post(f"{sim.url}/_sim/oauth/code", json={"code_challenge": challenge})).json()["code"]

    def form(v: str) -> dict[str, str]:
        return {"app_id": DEMO_OA.app_id, "grant_type": "authorization_code", "code": code, "code_verifier": v}

    url = f"{sim.url}/v4/oa/access_token"
    headers = {"secret_key": DEMO_OA.secret_key}
    bad = (await client.post(url, data=form("w" * 43), headers=headers)).json()
    assert bad["error"] == -14001
    code = (await client.post(f"{sim.url}/_sim/oauth/code", json={"code_challenge": challenge})).json()["code"]
    good = (await client.post(url, data=form(verifier), headers=headers)).json()
    assert good["expires_in"] == "90000"
    assert (await send_template(client, sim, token=good["access_token"])).json()["error"] == 0
    again = (await client.post(url, data=form(verifier), headers=headers)).json()
    assert again["error"] == -14020
