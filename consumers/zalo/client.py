"""ZaloClient: the Zalo calls hoso makes, on httpx, with every failure converted to a hoso DeliveryError.

The base URLs are the only difference between the simulator and production. The transport is
pluggable (httpx's own seam), which the benchmarks use to pick the fastest one and tests can use to
inject failures without patching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from consumers.zalo.codes import ErrorClass, classify
from hoso.errors import (
    DeferredDelivery,
    DeliveryError,
    OAConfigurationError,
    PermanentDelivery,
    RetryableDelivery,
)

ZBS_TEMPLATE = "/message/template"
OA_TEXT = "/v3.0/oa/message/cs"


class TokenRejected(RetryableDelivery):
    """The access token was refused (-124/-216/-220): refresh it, then retry once."""


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
        timeout: float = 10.0,
        max_connections: int = 64,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._zbs_url = zbs_url.rstrip("/")
        self._oa_url = oa_url.rstrip("/")
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._http = httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport)

    async def send_template(
        self, token: str, *, phone: str, template_id: str, template_data: dict[str, str], tracking_id: str
    ) -> Accepted:
        """Send an approved ZBS template to a phone number (``84…``)."""
        body = {
            "phone": phone,
            "template_id": template_id,
            "template_data": template_data,
            "tracking_id": tracking_id,
        }
        data = await self._post(self._zbs_url + ZBS_TEMPLATE, token, body)
        quota = data.get("quota") or {}
        return Accepted(
            msg_id=str(data.get("msg_id", "")),
            remaining_quota=_int_or_none(quota.get("remainingQuota")),
            daily_quota=_int_or_none(quota.get("dailyQuota")),
        )

    async def send_text(self, token: str, *, user_id: str, text: str) -> Accepted:
        """Send OA consultation text to a follower who interacted recently."""
        body = {"recipient": {"user_id": user_id}, "message": {"text": text}}
        data = await self._post(self._oa_url + OA_TEXT, token, body)
        return Accepted(msg_id=str(data.get("message_id", "")))

    async def _post(self, url: str, token: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            response = await self._http.post(
                url,
                content=orjson.dumps(body),
                headers={"access_token": token, "Content-Type": "application/json"},
            )
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
