"""Helpers shared by the Zalo simulator tests (request builders, a fake clock).

Kept out of conftest.py so test modules can import them by a unique module name.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from zalo_simulator import DEMO_OA, RunningSimulator

TOKEN = DEMO_OA.access_token


class FakeClock:
    """Injectable wall clock (epoch seconds) that only moves when told to."""

    def __init__(self, epoch_s: float) -> None:
        self.t = epoch_s

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def vn_epoch(year: int, month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> float:
    """Epoch seconds of a Vietnam-local wall-clock time (UTC+7)."""
    return datetime(year, month, day, hour, minute, second, tzinfo=timezone(timedelta(hours=7))).timestamp()


def template_body(phone: str = "0987654321", tracking_id: str = "HS-0001-received", **extra: Any) -> dict[str, Any]:
    """A valid ZBS send body; keyword arguments override or add fields."""
    body: dict[str, Any] = {
        "phone": phone,
        "template_id": "412345",
        "template_data": {
            "ho_ten": "Nguyễn Văn An",
            "ma_ho_so": "000.00.12.H29-250101-0001",
            "trang_thai": "Đã tiếp nhận",
        },
        "tracking_id": tracking_id,
    }
    body.update(extra)
    return body


async def send_template(
    client: httpx.AsyncClient, sim: RunningSimulator, body: dict[str, Any] | None = None, token: str = TOKEN
) -> httpx.Response:
    """POST /message/template with the given (or a default valid) body."""
    return await client.post(
        f"{sim.url}/message/template", json=template_body() if body is None else body, headers={"access_token": token}
    )


async def refresh(
    client: httpx.AsyncClient,
    sim: RunningSimulator,
    refresh_token: str,
    app_id: str = DEMO_OA.app_id,
    secret: str = DEMO_OA.secret_key,
) -> dict[str, Any]:
    """Call the OAuth refresh endpoint the way Zalo documents it; returns the JSON body."""
    resp = await client.post(
        f"{sim.url}/v4/oa/access_token",
        data={"app_id": app_id, "grant_type": "refresh_token", "refresh_token": refresh_token},
        headers={"secret_key": secret},
    )
    assert resp.status_code == 200
    return resp.json()


async def stats(client: httpx.AsyncClient, sim: RunningSimulator) -> dict[str, Any]:
    """GET /_sim/stats."""
    resp = await client.get(f"{sim.url}/_sim/stats")
    assert resp.status_code == 200
    return resp.json()
