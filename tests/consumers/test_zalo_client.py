"""ZaloClient converts Zalo's HTTP-200 errors, HTTP failures and network errors into hoso's error classes."""

from __future__ import annotations

import httpx
import orjson
import pytest

from consumers.zalo.client import TokenRefreshFailed, TokenRejected, ZaloClient
from consumers.zalo.codes import ErrorClass, classify
from hoso.errors import DeferredDelivery, OAConfigurationError, PermanentDelivery, RetryableDelivery


def client_answering(handler) -> ZaloClient:
    return ZaloClient(zbs_url="https://zbs.test", oa_url="https://oa.test", transport=httpx.MockTransport(handler))


async def send(client: ZaloClient):
    return await client.send_template(
        "tok", phone="84912345678", template_id="t1", template_data={"a": "b"}, tracking_id="x1"
    )


async def test_success_returns_msg_id_and_quota_and_sends_zalo_shaped_request():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["token"] = request.headers["access_token"]
        seen["body"] = orjson.loads(request.content)
        data = {"msg_id": "abc", "quota": {"dailyQuota": "500", "remainingQuota": "499"}}
        return httpx.Response(200, json={"error": 0, "message": "Success", "data": data})

    accepted = await send(client_answering(handler))
    assert accepted.msg_id == "abc" and accepted.remaining_quota == 499 and accepted.daily_quota == 500
    assert seen["url"] == "https://zbs.test/message/template"
    assert seen["token"] == "tok"
    assert seen["body"] == {
        "phone": "84912345678",
        "template_id": "t1",
        "template_data": {"a": "b"},
        "tracking_id": "x1",
    }


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (-118, PermanentDelivery),
        (-108, PermanentDelivery),
        (-124, TokenRejected),
        (-144, DeferredDelivery),
        (-133, DeferredDelivery),
        (-115, OAConfigurationError),
        (-32, RetryableDelivery),
        (-100, RetryableDelivery),
        (-99999, RetryableDelivery),
    ],
)
async def test_zalo_error_codes_arrive_with_http_200_and_map_to_a_class(code, error):
    client = client_answering(lambda _r: httpx.Response(200, json={"error": code, "message": "x"}))
    with pytest.raises(error) as info:
        await send(client)
    assert info.value.code == code


async def test_http_5xx_and_network_errors_are_retryable():
    with pytest.raises(RetryableDelivery):
        await send(client_answering(lambda _r: httpx.Response(503)))

    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(RetryableDelivery, match="network"):
        await send(client_answering(boom))

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(RetryableDelivery, match="timeout"):
        await send(client_answering(slow))


def test_every_documented_token_code_asks_for_a_refresh():
    assert {classify(c) for c in (-124, -216, -220)} == {ErrorClass.REFRESH_TOKEN}


def refresh_answering(payload: dict) -> ZaloClient:
    return ZaloClient(
        zbs_url="https://zbs.test",
        oa_url="https://oa.test",
        oauth_url="https://oauth.test",
        transport=httpx.MockTransport(lambda _r: httpx.Response(200, content=orjson.dumps(payload))),
    )


async def test_a_rate_limited_token_refresh_is_retried_not_refused():
    client = refresh_answering({"error": -32, "message": "Your application/OA reached limit call api"})
    with pytest.raises(RetryableDelivery):
        await client.refresh(app_id="app", secret_key="s", refresh_token="r")


async def test_a_token_refresh_refused_with_an_undocumented_code_pauses_the_oa():
    client = refresh_answering({"error": -14014, "message": "invalid refresh token"})
    with pytest.raises(TokenRefreshFailed):
        await client.refresh(app_id="app", secret_key="s", refresh_token="r")
