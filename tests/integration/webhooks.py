"""Calling the webhook receiver as Zalo does: a JSON event stamped now, signed with the demo OA's secret."""

from __future__ import annotations

import time
import uuid

import httpx
import orjson

from zalo_simulator import receipt_signature

APP_ID = "hoso-demo-app"
OA_ID = "hoso-demo-oa"
OA_SECRET = "hoso-demo-oa-secret"


def zalo_call(payload: dict) -> bytes:
    """The body Zalo posts: ``payload`` with the app id and a timestamp of now (older calls are ignored)."""
    return orjson.dumps({"app_id": APP_ID, "timestamp": str(time.time_ns() // 1_000_000), **payload})


def text_from(user: str, text: str, msg_id: str | None = None) -> bytes:
    """A citizen's chat message to the demo OA (a fresh ``msg_id`` unless it is a redelivery)."""
    return zalo_call(
        {
            "sender": {"id": user},
            "recipient": {"id": OA_ID},
            "event_name": "user_send_text",
            "message": {"msg_id": msg_id or uuid.uuid4().hex, "text": text},
        }
    )


def signed(body: bytes, secret: str = OA_SECRET) -> dict[str, str]:
    """The signature header Zalo sends with ``body`` (the wrong ``secret`` makes a forged call)."""
    ts = orjson.loads(body)["timestamp"]
    return {"X-ZEvent-Signature": "mac=" + receipt_signature(APP_ID, body, ts, secret)}


async def post_signed(http: httpx.AsyncClient, url: str, body: bytes, secret: str = OA_SECRET) -> int:
    """Post ``body`` signed to the receiver at ``url``; its HTTP status."""
    return (await http.post(url, content=body, headers=signed(body, secret))).status_code
