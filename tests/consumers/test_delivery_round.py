"""A delivery round counts a timeout as a possible duplicate only when the request may have reached Zalo."""

from __future__ import annotations

import httpx
import pytest

from consumers.delivery import Next, RoundPolicy, Sender
from consumers.zalo.client import ZaloClient
from hoso import metrics
from schemas.notification import Notification
from tests.factories import phone_notice


class OneToken:
    """The token source a round needs: one valid token, never refreshed."""

    def token(self, oa_id: str) -> str:
        return "tok"

    async def refresh(self, oa_id: str, *, rejected: str) -> None:  # pragma: no cover - never rejected here
        raise AssertionError("no refresh expected")


def notification() -> Notification:
    return phone_notice("t-round", subscriber_id="sub-round")


def possible_duplicates() -> float:
    return (
        metrics.REGISTRY.get_sample_value(
            "hoso_zalo_possible_duplicates_total", {"oa": metrics.LABELS.oa("hoso-demo-oa")}
        )
        or 0.0
    )


@pytest.mark.parametrize(
    ("timeout", "may_have_reached_zalo"),
    [(httpx.ReadTimeout, True), (httpx.ConnectTimeout, False), (httpx.PoolTimeout, False)],
)
async def test_only_a_timeout_after_the_request_left_counts_as_a_possible_duplicate(timeout, may_have_reached_zalo):
    def stalls(request: httpx.Request) -> httpx.Response:
        raise timeout("no answer", request=request)

    client = ZaloClient(zbs_url="https://zbs.test", oa_url="https://oa.test", transport=httpx.MockTransport(stalls))
    sender = Sender(client, OneToken(), RoundPolicy(tries=2, pause_s=0.0))  # type: ignore[arg-type]
    before = possible_duplicates()
    result = await sender.round(notification())
    assert result.next is Next.RETRY
    assert possible_duplicates() - before == (2 if may_have_reached_zalo else 0)
