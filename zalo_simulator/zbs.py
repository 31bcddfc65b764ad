"""ZBS Template Message endpoints (business.openapi.zalo.me): send by phone, status, quota.

Each handler returns ``(error_code, body_bytes)``; app.py adds fault injection,
counting and the HTTP response (always 200 here: Zalo reports errors in the body).
Checks run in a fixed order: token, body shape, recipient, template fields,
tracking_id, sending_mode, magic recipient, night ban, quota.  Magic recipients
come before the night ban and quota so that they fail the same way every time.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from zalo_simulator.clock import is_vn_night, vn_day
from zalo_simulator.errors import ZaloError, error_body, error_body_with
from zalo_simulator.magic import MAGIC_HASH_PHONES, MAGIC_NUMBERS
from zalo_simulator.phones import normalise_hash_phone, normalise_phone
from zalo_simulator.runtime import Simulator
from zalo_simulator.state import EP_ZBS_HASH, EP_ZBS_PHONE, AcceptedMessage
from zalo_simulator.tokens import OAState
from zalo_simulator.validation import (
    check_sending_mode,
    check_template_data,
    check_tracking_id,
    template_id_of,
)

Reply = tuple[int, bytes]

_TOKEN_INVALID: Reply = (ZaloError.ZBS_TOKEN_INVALID, error_body(ZaloError.ZBS_TOKEN_INVALID))
_NOT_AN_OBJECT: Reply = (
    ZaloError.PARAM_WRONG_FORMAT,
    error_body_with(ZaloError.PARAM_WRONG_FORMAT, "request body must be a JSON object"),
)


def parse_json_object(raw: bytes) -> dict[str, Any] | None:
    """The request body as a dict, or None if it is not a JSON object."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _error(code: ZaloError, detail: str | None = None) -> Reply:
    return code, (error_body(code) if detail is None else error_body_with(code, detail))


class ZbsApi:
    """Handlers for the ZBS phone channel."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._phone_counters = sim.state.endpoint(EP_ZBS_PHONE)
        self._hash_counters = sim.state.endpoint(EP_ZBS_HASH)

    async def send_by_phone(self, request: web.Request) -> Reply:
        """POST /message/template"""
        oa, _ = self.sim.tokens.check(request.headers.get("access_token"))
        if oa is None:
            return _TOKEN_INVALID
        body = parse_json_object(await request.read())
        if body is None:
            return _NOT_AN_OBJECT
        phone = normalise_phone(body.get("phone"))
        if phone is None:
            return _error(ZaloError.PHONE_INVALID)
        return self._send(oa, body, EP_ZBS_PHONE, phone, MAGIC_NUMBERS)

    async def send_by_hash_phone(self, request: web.Request) -> Reply:
        """POST /message/template/hashphone"""
        oa, _ = self.sim.tokens.check(request.headers.get("access_token"))
        if oa is None:
            return _TOKEN_INVALID
        body = parse_json_object(await request.read())
        if body is None:
            return _NOT_AN_OBJECT
        hashed = normalise_hash_phone(body.get("hash_phone"))
        if hashed is None:
            return _error(ZaloError.PHONE_INVALID, "hash_phone must be the SHA-256 hex of an 84... number")
        return self._send(oa, body, EP_ZBS_HASH, hashed, MAGIC_HASH_PHONES)

    def _send(self, oa: OAState, body: dict[str, Any], endpoint: str, recipient: str, magic: dict[str, int]) -> Reply:
        template_id = template_id_of(body.get("template_id"))
        if template_id is None:
            return _error(ZaloError.TEMPLATE_ID_INVALID)
        template_data = body.get("template_data")
        violation = (
            check_template_data(template_data)
            or check_tracking_id(body.get("tracking_id"))
            or check_sending_mode(body.get("sending_mode"))
        )
        if violation is not None:
            return _error(*violation)
        magic_code = magic.get(recipient)
        if magic_code is not None:
            return _error(ZaloError(magic_code))
        sim = self.sim
        now = sim.clock.now()
        if sim.config.night_ban and is_vn_night(now):
            return _error(ZaloError.NIGHT_BAN)
        cfg = oa.config
        day = vn_day(now)
        daily = sim.daily_quota(cfg)
        state = sim.state
        if state.quota_used(cfg.oa_id, day) >= daily:
            return _error(ZaloError.DAILY_QUOTA_EXCEEDED)
        mode = body.get("mode")
        tracking_id: str = body["tracking_id"]
        record_payloads = sim.config.record_payloads
        seq = state.record(
            self._phone_counters if endpoint == EP_ZBS_PHONE else self._hash_counters,
            AcceptedMessage(
                endpoint,
                cfg.oa_id,
                recipient,
                tracking_id,
                template_id,
                template_data if record_payloads else None,
                None,
                mode if isinstance(mode, str) else None,
                now,
            ),
        )
        used = state.consume_quota(cfg.oa_id, day)
        msg_id = state.ids.zbs_id(seq)
        now_ms = int(now * 1000)
        receipts = sim.receipts
        if receipts is not None:
            receipts.submit(cfg, recipient, msg_id, tracking_id, now_ms)
        return 0, orjson.dumps(
            {
                "error": 0,
                "message": "Success",
                "data": {
                    "msg_id": msg_id,
                    "sent_time": str(now_ms),
                    "sending_mode": "1",
                    "quota": {"dailyQuota": str(daily), "remainingQuota": str(max(0, daily - used))},
                },
            }
        )

    async def message_status(self, request: web.Request) -> Reply:
        """GET /message/status?message_id=..."""
        oa, _ = self.sim.tokens.check(request.headers.get("access_token"))
        if oa is None:
            return _TOKEN_INVALID
        message_id = request.query.get("message_id", "").strip()
        if not message_id:
            return _error(ZaloError.MESSAGE_ID_INVALID, "message_id is missing")
        found = self.sim.state.lookup(message_id)
        if found is None or found[1].oa_id != oa.config.oa_id:
            data: dict[str, Any] = {"status": -1, "message": "Message not found", "delivery_time": None}
        else:
            delivery_s = found[1].received_at + self.sim.config.receipt_delay_s
            if self.sim.clock.now() >= delivery_s:
                data = {
                    "status": 1,
                    "message": "The message was delivered to the user's phone",
                    "delivery_time": str(int(delivery_s * 1000)),
                }
            else:
                data = {"status": 0, "message": "The message was sent but not yet delivered", "delivery_time": None}
        return 0, orjson.dumps({"error": 0, "message": "Success", "data": data})

    async def message_quota(self, request: web.Request) -> Reply:
        """GET /message/quota"""
        oa, _ = self.sim.tokens.check(request.headers.get("access_token"))
        if oa is None:
            return _TOKEN_INVALID
        sim = self.sim
        daily = sim.daily_quota(oa.config)
        used = sim.state.quota_used(oa.config.oa_id, vn_day(sim.clock.now()))
        return 0, orjson.dumps(
            {
                "error": 0,
                "message": "Success",
                "data": {"dailyQuota": str(daily), "remainingQuota": str(max(0, daily - used))},
            }
        )
