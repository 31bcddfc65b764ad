"""The OAuth v4 token endpoint (oauth.zaloapp.com/v4/oa/access_token).

Parses the form-encoded request (secret in the ``secret_key`` header) and hands
it to the token store.  Fields are also read from the query string, since some
clients put them there and Zalo tolerates it.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from zalo_simulator.errors import ZaloError, oauth_error_body
from zalo_simulator.runtime import Simulator
from zalo_simulator.tokens import OAuthFailure
from zalo_simulator.zbs import Reply


class OAuthApi:
    """Handler for token refresh and authorization-code grants."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def access_token(self, request: web.Request) -> Reply:
        """POST /v4/oa/access_token (form: app_id, grant_type, refresh_token | code)."""
        raw = await request.read()
        form = dict(request.query)
        try:
            form.update(parse_qsl(raw.decode(), keep_blank_values=True))
        except UnicodeDecodeError:
            return ZaloError.OAUTH_INVALID_PARAM, oauth_error_body(ZaloError.OAUTH_INVALID_PARAM, "body is not UTF-8")
        secret = request.headers.get("secret_key")
        grant = form.get("grant_type")
        tokens = self.sim.tokens
        try:
            if grant == "refresh_token":
                result = tokens.refresh(form.get("app_id"), secret, form.get("refresh_token"))
            elif grant == "authorization_code":
                result = tokens.exchange_code(form.get("app_id"), secret, form.get("code"), form.get("code_verifier"))
            else:
                raise OAuthFailure(ZaloError.OAUTH_INVALID_PARAM, f"unsupported grant_type {grant!r}")
        except OAuthFailure as failure:
            return failure.code, oauth_error_body(failure.code, failure.detail)
        return 0, orjson.dumps(result)
