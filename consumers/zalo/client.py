"""ZaloClient: the Zalo calls hoso makes, on httpx, with every failure converted to a hoso DeliveryError.

The base URLs are the only difference between the simulator and production. The transport is
pluggable (httpx's own seam), which the benchmarks use to pick the fastest one and tests can use to
inject failures without patching.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from consumers.zalo.codes import ErrorClass, classify, is_transient
from consumers.zalo.transport import AiohttpTransport
from hoso.errors import (
    DeferredDelivery,
    DeliveryError,
    OAConfigurationError,
    PermanentDelivery,
    RetryableDelivery,
)

ZBS_TEMPLATE = "/message/template"
ZBS_TEMPLATE_HASHED = "/message/template/hashphone"
ZBS_QUOTA = "/message/quota"
ZBS_STATUS = "/message/status"
OA_TEXT = "/v3.0/oa/message/cs"
OA_TEMPLATE = "/v3.0/oa/message/template"
OAUTH_TOKEN = "/v4/oa/access_token"  # noqa: S105 - a URL path


class TokenRejected(RetryableDelivery):
    """The access token was refused (-124/-216/-220): refresh it, then retry once."""


class TokenRefreshFailed(OAConfigurationError):
    """Zalo refused the refresh token (-140xx): an OA admin must grant access again."""


@dataclass(frozen=True)
class TokenPair:
    """A fresh access/refresh token pair; ``expires_in`` seconds from when it was issued."""

    access_token: str
    refresh_token: str
    expires_in: float


@dataclass(frozen=True)
class Accepted:
    """Zalo accepted the message."""

    msg_id: str
    remaining_quota: int | None = None
    daily_quota: int | None = None


class ZaloClient:
    """Async client for ZBS template sends (by phone) and OA consultation text (by user id)."""

    def __init__(
        self,
        *,
        zbs_url: str,
        oa_url: str,
        oauth_url: str = "https://oauth.zaloapp.com",
        timeout: float = 10.0,
        max_connections: int = 64,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._zbs_url = zbs_url.rstrip("/")
        self._oa_url = oa_url.rstrip("/")
        self._oauth_url = oauth_url.rstrip("/")
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        if transport is None:
            # httpx's own pool costs more CPU per request than the request itself at thousands per second
            # (docs/performance.md); aiohttp's connection handling, behind the same httpx API, does not.
            transport = AiohttpTransport(max_connections)
        self._http = httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport)
        # Sends build their httpx.Request here and hand it straight to the transport: AsyncClient's URL
        # merging, auth, redirect and cookie steps (none of which Zalo's JSON calls use) cost as much CPU
        # as the HTTP exchange itself at thousands of sends per second (docs/performance.md). The token
        # refresh, rare and form-encoded, still goes through the client, which also owns the transport.
        self._transport = transport
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        self._total_s = timeout
        self._urls: dict[str, httpx.URL] = {}

    async def send_template(
        self, token: str, *, phone: str, template_id: str, template_data: dict[str, str], tracking_id: str
    ) -> Accepted:
        """Send an approved ZBS template to a phone number (``84…``)."""
        return await self._send_zbs(ZBS_TEMPLATE, token, {"phone": phone}, template_id, template_data, tracking_id)

    async def send_template_hashed(
        self, token: str, *, phone_hash: str, template_id: str, template_data: dict[str, str], tracking_id: str
    ) -> Accepted:
        """Send a ZBS template to the SHA-256 of a ``84…`` number (the phone itself never leaves hoso)."""
        return await self._send_zbs(
            ZBS_TEMPLATE_HASHED, token, {"hash_phone": phone_hash}, template_id, template_data, tracking_id
        )

    async def _send_zbs(
        self,
        path: str,
        token: str,
        recipient: dict[str, str],
        template_id: str,
        template_data: dict[str, str],
        tracking_id: str,
    ) -> Accepted:
        """The ZBS phone-channel call both variants share; only the recipient field differs."""
        body = {**recipient, "template_id": template_id, "template_data": template_data, "tracking_id": tracking_id}
        data = await self._post(self._zbs_url + path, token, body)
        quota = data.get("quota") or {}
        return Accepted(
            msg_id=str(data.get("msg_id", "")),
            remaining_quota=_int_or_none(quota.get("remainingQuota")),
            daily_quota=_int_or_none(quota.get("dailyQuota")),
        )

    async def send_template_to_user(
        self, token: str, *, user_id: str, template_id: str, template_data: dict[str, str]
    ) -> Accepted:
        """Send a ZBS template to an OA follower by user id (cheaper; no tracking id on this channel)."""
        body = {"user_id": user_id, "template_id": template_id, "template_data": template_data}
        data = await self._post(self._oa_url + OA_TEMPLATE, token, body)
        return Accepted(msg_id=str(data.get("message_id", "")))

    async def quota(self, token: str) -> dict[str, Any]:
        """The OA's ZBS quota as Zalo reports it."""
        return await self._get(self._zbs_url + ZBS_QUOTA, token, {})

    async def message_status(self, token: str, message_id: str) -> dict[str, Any]:
        """Delivery status of a ZBS message (-1 unknown, 0 sent, 1 delivered)."""
        return await self._get(self._zbs_url + ZBS_STATUS, token, {"message_id": message_id})

    async def refresh(
        self,
        *,
        app_id: str,
        secret_key: str,
        refresh_token: str,
        timeout: float = 60.0,  # noqa: ASYNC109 - an HTTP timeout handed to httpx, not a cancel scope
    ) -> TokenPair:
        """Exchange a (single-use) refresh token for a new pair; the caller must store the pair before use."""
        try:
            response = await self._http.post(
                self._oauth_url + OAUTH_TOKEN,
                data={"app_id": app_id, "refresh_token": refresh_token, "grant_type": "refresh_token"},
                headers={"secret_key": secret_key},
                timeout=timeout,  # longer than sends: an abandoned refresh can lose the rotated pair
            )
        except httpx.TransportError as exc:
            raise RetryableDelivery(f"token refresh: network: {type(exc).__name__}") from exc
        if response.status_code >= 500:
            raise RetryableDelivery(f"token refresh: HTTP {response.status_code}")
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise RetryableDelivery("token refresh: response is not JSON") from exc
        if "access_token" in payload and "refresh_token" in payload:
            return TokenPair(
                access_token=str(payload["access_token"]),
                refresh_token=str(payload["refresh_token"]),
                expires_in=float(payload.get("expires_in", 90000)),
            )
        code = int(payload.get("error", -14000))
        if is_transient(code):  # e.g. -32, the app's API rate limit: the refresh token was not used up
            raise RetryableDelivery(f"token refresh: Zalo error {code} (transient)", code=code)
        raise TokenRefreshFailed(f"token refresh refused: Zalo error {code}: {payload.get('message', '')}", code=code)

    async def send_text(self, token: str, *, user_id: str, text: str) -> Accepted:
        """Send OA consultation text to a follower who interacted recently."""
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        data = await self._post(self._oa_url + OA_TEXT, token, body)
        return Accepted(msg_id=str(data.get("message_id", "")))

    async def _post(self, url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        headers = {"access_token": token, "Content-Type": "application/json"}
        return await self._call("POST", url, headers, content=orjson.dumps(body))

    async def _get(self, url: str, token: str, params: dict[str, str]) -> dict[str, Any]:
        return await self._call("GET", url, {"access_token": token}, params=params)

    async def _call(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        *,
        content: bytes | None = None,
        params: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        target = self._urls.get(url)
        if target is None:
            target = self._urls[url] = httpx.URL(url)
        if params:
            target = target.copy_merge_params(params)
        request = httpx.Request(method, target, headers=headers, content=content, extensions=self._extensions)
        try:
            # A total deadline, whatever the transport: a server trickling its answer must not hold the chain.
            async with asyncio.timeout(self._total_s):
                response = await self._transport.handle_async_request(request)
                await response.aread()
        except TimeoutError as exc:
            raise RetryableDelivery("timeout: total request deadline", code=None) from exc
        except httpx.TimeoutException as exc:
            raise RetryableDelivery(f"timeout: {type(exc).__name__}", code=None) from exc
        except httpx.TransportError as exc:
            raise RetryableDelivery(f"network: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise RetryableDelivery(f"HTTP {response.status_code}", code=None)
        if response.status_code != 200:
            raise OAConfigurationError(f"HTTP {response.status_code} from {url}")
        try:
            payload = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise RetryableDelivery("response is not JSON") from exc
        code = int(payload.get("error", -100))
        if code == 0:
            return payload.get("data") or {}
        raise error_for(code, str(payload.get("message", "")))

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()


def error_for(code: int, message: str) -> DeliveryError:
    """The hoso exception for a Zalo error code."""
    text = f"Zalo error {code}: {message}"
    cls = classify(code)
    if cls is ErrorClass.REFRESH_TOKEN:
        return TokenRejected(text, code=code)
    if cls in (ErrorClass.DEFER_QUOTA, ErrorClass.DEFER_NIGHT):
        return DeferredDelivery(text, code=code)
    if cls is ErrorClass.PERMANENT:
        return PermanentDelivery(text, code=code)
    if cls is ErrorClass.OA_CONFIG:
        return OAConfigurationError(text, code=code)
    return RetryableDelivery(text, code=code)


def _int_or_none(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
