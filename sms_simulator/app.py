"""The simulated provider API: ``POST /sms/send`` as hoso's provider contract describes it, plus controls.

Every accepted text is recorded as a handset would see it: sending the same ``request_id`` twice delivers
twice (many real providers do not deduplicate), and ``/_sim/stats`` counts such repeats, so a test can see
whether the caller ever texted someone twice.

Magic numbers answer deterministically: ``84999111NNN`` is refused with code ``NNN`` (e.g. ``84999111012``:
on the do-not-disturb list). ``fail_first`` makes the first N requests answer 503 (retries), and
``fail_codes`` maps a phone to a code it always gets.

Controls: ``GET /_sim/messages``, ``GET /_sim/stats``, ``POST /_sim/reset``, ``POST /_sim/fail-next?n=N``,
``GET /_sim/health``.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

MOBILE = re.compile(r"^84[35789]\d{8}$")
MAGIC_PREFIX = "84999111"


@dataclass(frozen=True)
class SmsSimConfig:
    """Accepted API keys and the brandnames each may send under."""

    keys: dict[str, tuple[str, ...]] = field(default_factory=lambda: {"sms-demo-key": ("HOSO-DEMO",)})
    fail_first: int = 0
    max_chars: int = 1530  # 10 GSM segments: longer texts are refused (code 14)


@dataclass
class SmsSimState:
    """What the simulator received and delivered."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    refused: dict[str, int] = field(default_factory=dict)
    fail_next: int = 0
    by_request_id: dict[str, int] = field(default_factory=dict)

    def stats(self) -> dict[str, Any]:
        """Counters (the /_sim/stats body)."""
        repeats = sum(n - 1 for n in self.by_request_id.values() if n > 1)
        return {
            "requests": self.requests,
            "delivered": len(self.messages),
            "repeated_request_ids": repeats,
            "refused": dict(self.refused),
        }


STATE_KEY = web.AppKey("sms_state", SmsSimState)
CONFIG_KEY = web.AppKey("sms_config", SmsSimConfig)
_IDS = itertools.count(1)


def _answer(code: str, message: str, status: int = 200, **extra: Any) -> web.Response:
    return web.json_response({"code": code, "message": message, **extra}, status=status)


async def send(request: web.Request) -> web.Response:
    """One text: authenticate, validate, deliver (record) or refuse with a provider code."""
    state, config = request.app[STATE_KEY], request.app[CONFIG_KEY]
    state.requests += 1
    if state.fail_next > 0:
        state.fail_next -= 1
        return _answer("99", "service temporarily unavailable", status=503)
    auth = request.headers.get("Authorization", "")
    key = auth[7:] if auth.startswith("Bearer ") else ""
    if key not in config.keys:
        return _answer("10", "invalid API key", status=401)
    try:
        body = json.loads(await request.read())
    except ValueError:
        return _answer("14", "body is not JSON", status=400)
    if not isinstance(body, dict):
        return _answer("14", "body is not an object", status=400)
    phone, message, brandname = str(body.get("phone", "")), body.get("message"), body.get("brandname")
    request_id = str(body.get("request_id", ""))

    def refuse(code: str, why: str) -> web.Response:
        state.refused[code] = state.refused.get(code, 0) + 1
        return _answer(code, why)

    if brandname not in config.keys[key]:
        return refuse("13", f"brandname {brandname!r} is not registered for this account")
    if not MOBILE.fullmatch(phone):
        return refuse("11", "invalid phone number (expected 84xxxxxxxxx)")
    if phone.startswith(MAGIC_PREFIX):
        return refuse(str(int(phone[len(MAGIC_PREFIX) :])), "magic number")
    if not isinstance(message, str) or not message.strip() or len(message) > config.max_chars:
        return refuse("14", "message empty or too long")
    if body.get("unicode") in (0, "0") and any(ord(c) > 127 for c in message):
        return refuse("14", "non-ASCII characters in a non-unicode message")
    message_id = f"sms-{next(_IDS):08d}"
    state.by_request_id[request_id] = state.by_request_id.get(request_id, 0) + 1
    state.messages.append(
        {
            "message_id": message_id,
            "phone": phone,
            "brandname": brandname,
            "message": message,
            "request_id": request_id,
            "received_at": time.time(),
        }
    )
    return _answer("00", "success", message_id=message_id)


async def messages(request: web.Request) -> web.Response:
    """Every delivered text."""
    return web.json_response(request.app[STATE_KEY].messages)


async def stats(request: web.Request) -> web.Response:
    """Counters."""
    return web.json_response(request.app[STATE_KEY].stats())


async def reset(request: web.Request) -> web.Response:
    """Forget everything received."""
    request.app[STATE_KEY] = SmsSimState()
    return web.json_response({"ok": True})


async def fail_next(request: web.Request) -> web.Response:
    """Make the next N sends answer 503."""
    request.app[STATE_KEY].fail_next = int(request.query.get("n", "1"))
    return web.json_response({"ok": True})


async def health(_request: web.Request) -> web.Response:
    """Liveness."""
    return web.json_response({"ok": True})


def create_app(config: SmsSimConfig) -> web.Application:
    """The aiohttp application."""
    app = web.Application()
    app[CONFIG_KEY] = config
    app[STATE_KEY] = SmsSimState(fail_next=config.fail_first)
    app.router.add_post("/sms/send", send)
    app.router.add_get("/_sim/messages", messages)
    app.router.add_get("/_sim/stats", stats)
    app.router.add_post("/_sim/reset", reset)
    app.router.add_post("/_sim/fail-next", fail_next)
    app.router.add_get("/_sim/health", health)
    return app
