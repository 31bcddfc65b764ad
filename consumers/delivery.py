"""Delivers one notification: picks the Zalo call, retries what is transient, reports how it ended.

The outcome is a value, not an exception, so the dispatcher can finish a whole batch and commit once.
Only an OA-wide configuration error escapes: then nothing should be committed or sent for that OA until
an operator acts, and the records stay in Kafka.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from enum import StrEnum

from consumers.zalo.client import OA_TEXT, ZBS_TEMPLATE, Accepted, ZaloClient
from hoso import metrics
from hoso.errors import (
    DeferredDelivery,
    DeliveryError,
    OAConfigurationError,
    PermanentDelivery,
    RetryableDelivery,
)
from schemas.common import now_vn
from schemas.notification import Notification, SendChannel


class Outcome(StrEnum):
    """How a delivery ended."""

    SENT = "sent"
    PERMANENT_FAILURE = "permanent_failure"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class Delivery:
    """The end of one notification's delivery."""

    outcome: Outcome
    attempts: int
    code: int | None = None
    reason: str = ""
    accepted: Accepted | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter (spreads retries of a burst over time)."""

    max_attempts: int = 6
    base_s: float = 0.2
    cap_s: float = 10.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt + 1``."""
        return random.uniform(0, min(self.cap_s, self.base_s * 2 ** (attempt - 1)))


class Deliverer:
    """Sends notifications through one ZaloClient with a retry policy and a token source."""

    def __init__(self, client: ZaloClient, token: str, policy: RetryPolicy) -> None:
        self._client = client
        self._token = token
        self._policy = policy

    async def deliver(self, n: Notification) -> Delivery:
        """Send ``n`` until it is accepted, permanently refused, or out of attempts."""
        endpoint = ZBS_TEMPLATE if n.channel is SendChannel.ZBS_PHONE else OA_TEXT
        attempt = 0
        while True:
            attempt += 1
            started = time.perf_counter()
            try:
                accepted = await self._send(n)
            except PermanentDelivery as exc:
                self._count(n, endpoint, "permanent", exc.code, started)
                return Delivery(Outcome.PERMANENT_FAILURE, attempt, exc.code, str(exc))
            except OAConfigurationError as exc:
                self._count(n, endpoint, "oa_config", exc.code, started)
                raise
            except (RetryableDelivery, DeferredDelivery) as exc:
                self._count(n, endpoint, "retry", exc.code, started)
                if attempt >= self._policy.max_attempts:
                    return Delivery(Outcome.DEAD_LETTERED, attempt, exc.code, f"gave up: {exc}")
                metrics.RETRIES.labels(n.oa_id, _reason(exc)).inc()
                await asyncio.sleep(self._policy.delay(attempt))
                continue
            self._count(n, endpoint, "accepted", 0, started)
            metrics.END_TO_END_SECONDS.labels(n.kind.value).observe(
                max(0.0, (now_vn() - n.occurred_at).total_seconds())
            )
            return Delivery(Outcome.SENT, attempt, 0, accepted=accepted)

    async def _send(self, n: Notification) -> Accepted:
        if n.channel is SendChannel.ZBS_PHONE and n.to.phone and n.template_id:
            return await self._client.send_template(
                self._token,
                phone=n.to.phone,
                template_id=n.template_id,
                template_data=n.template_data,
                tracking_id=n.tracking_id,
            )
        if n.to.zalo_user_id:
            return await self._client.send_text(self._token, user_id=n.to.zalo_user_id, text=n.text)
        raise PermanentDelivery("no phone and template, and no Zalo user id: nothing Zalo can address")

    @staticmethod
    def _count(n: Notification, endpoint: str, outcome: str, code: int | None, started: float) -> None:
        metrics.ZALO_REQUESTS.labels(n.oa_id, endpoint, outcome, str(code if code is not None else "")).inc()
        metrics.ZALO_REQUEST_SECONDS.labels(n.oa_id, endpoint).observe(time.perf_counter() - started)


def _reason(exc: DeliveryError) -> str:
    if exc.code is not None:
        return f"zalo_{abs(exc.code)}"
    text = str(exc)
    return "timeout" if text.startswith("timeout") else "http" if text.startswith("HTTP") else "network"
