"""Official Account v3 endpoints (openapi.zalo.me): consultation text and template by UID.

These address a citizen by OA user id instead of phone.  Token failures use the
OA-side codes: -216 for an unknown token, -220 for an expired or rotated one.
The retired v2 send API answers -240 so a client still calling it finds out.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from zalo_simulator.clock import is_vn_night
from zalo_simulator.errors import ZaloError, error_body, error_body_with
from zalo_simulator.magic import MAGIC_USER_IDS
from zalo_simulator.runtime import Simulator
from zalo_simulator.state import EP_OA_CS, EP_OA_TEMPLATE, AcceptedMessage, EndpointCounters
from zalo_simulator.tokens import OAState, TokenStatus
from zalo_simulator.validation import (
    MAX_CS_TEXT,
    check_template_data,
    template_id_of,
    user_id_of,
)
from zalo_simulator.zbs import Reply, parse_json_object

_FREE_REPLY_QUOTA = {"quota_type": "reply", "remain": "8", "total": "8"}


def _error(code: ZaloError, detail: str | None = None) -> Reply:
    return code, (error_body(code) if detail is None else error_body_with(code, detail))


def _token_error(status: TokenStatus) -> Reply:
    if status is TokenStatus.UNKNOWN:
        return _error(ZaloError.OA_TOKEN_INVALID)
    return _error(ZaloError.OA_TOKEN_EXPIRED)


class OaApi:
    """Handlers for the OA v3 messaging endpoints."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self._cs_counters = sim.state.endpoint(EP_OA_CS)
        self._template_counters = sim.state.endpoint(EP_OA_TEMPLATE)

    async def send_cs(self, request: web.Request) -> Reply:
        """POST /v3.0/oa/message/cs: {"recipient": {"user_id"}, "message": {"text"}}"""
        oa, status = self.sim.tokens.check(request.headers.get("access_token"))
        if oa is None:
            return _token_error(status)
        body = parse_json_object(await request.read())
        if body is None:
            return _error(ZaloError.OA_INVALID_PARAM, "request body must be a JSON object")
        recipient = body.get("recipient")
        user_id = user_id_of(recipient.get("user_id")) if isinstance(recipient, dict) else None
        if user_id is None:
            return _error(ZaloError.OA_INVALID_PARAM, "recipient.user_id is missing or invalid")
        message = body.get("message")
        if not isinstance(message, dict):
            return _error(ZaloError.OA_INVALID_PARAM, "message is missing")
        text = message.get("text")
        attachment = message.get("attachment")
        if text is None and not isinstance(attachment, dict):
            return _error(ZaloError.OA_INVALID_PARAM, "message needs text or attachment")
        if text is not None:
            if not isinstance(text, str) or not text:
                return _error(ZaloError.OA_INVALID_PARAM, "message.text must be a non-empty string")
            if len(text) > MAX_CS_TEXT:
                return _error(ZaloError.OA_PARAM_OVER_LIMIT, f"message.text is longer than {MAX_CS_TEXT}")
        magic_code = MAGIC_USER_IDS.get(user_id)
        if magic_code is not None:
            return _error(ZaloError(magic_code))
        record_text = text if self.sim.config.record_payloads else None
        return self._accept(
            oa, self._cs_counters, EP_OA_CS, user_id, None, None, record_text, body, extra={"quota": _FREE_REPLY_QUOTA}
        )

    async def send_template(self, request: web.Request) -> Reply:
        """POST /v3.0/oa/message/template: ZBS template by UID."""
        oa, status = self.sim.tokens.check(request.headers.get("access_token"))
        if oa is None:
            return _token_error(status)
        body = parse_json_object(await request.read())
        if body is None:
            return _error(ZaloError.OA_INVALID_PARAM, "request body must be a JSON object")
        user_id = user_id_of(body.get("user_id"))
        if user_id is None:
            return _error(ZaloError.OA_INVALID_PARAM, "user_id is missing or invalid")
        template_id = template_id_of(body.get("template_id"))
        if template_id is None:
            return _error(ZaloError.TEMPLATE_ID_INVALID)
        template_data = body.get("template_data")
        violation = check_template_data(template_data)
        if violation is not None:
            return _error(*violation)
        magic_code = MAGIC_USER_IDS.get(user_id)
        if magic_code is not None:
            return _error(ZaloError(magic_code))
        if self.sim.config.night_ban and is_vn_night(self.sim.clock.now()):
            return _error(ZaloError.NIGHT_BAN)
        data = template_data if self.sim.config.record_payloads else None
        return self._accept(oa, self._template_counters, EP_OA_TEMPLATE, user_id, template_id, data, None, body)

    async def send_v2(self, request: web.Request) -> Reply:
        """POST /v2.0/oa/message: shut down by Zalo."""
        return _error(ZaloError.OA_V2_SHUT_DOWN)

    def _accept(
        self,
        oa: OAState,
        counters: EndpointCounters,
        endpoint: str,
        user_id: str,
        template_id: str | None,
        template_data: dict[str, Any] | None,
        text: str | None,
        body: dict[str, Any],
        extra: dict[str, Any] | None = None,
    ) -> Reply:
        sim = self.sim
        now = sim.clock.now()
        tracking_id = body.get("tracking_id")
        seq = sim.state.record(
            counters,
            AcceptedMessage(
                endpoint,
                oa.config.oa_id,
                user_id,
                tracking_id if isinstance(tracking_id, str) and tracking_id else None,
                template_id,
                template_data,
                text,
                None,
                now,
            ),
        )
        data: dict[str, Any] = {
            "message_id": sim.state.ids.oa_id(seq),
            "user_id": user_id,
            "sent_time": str(int(now * 1000)),
        }
        if extra:
            data.update(extra)
        return 0, orjson.dumps({"error": 0, "message": "Success", "data": data})
