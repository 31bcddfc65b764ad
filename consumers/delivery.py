"""One delivery round of one notification: send it, and say what should happen next as a value.

A round tries a few times in quick succession (network blips, 5xx, -32) so that the common transient
failure keeps the recipient's order; a rejected token is refreshed and the send repeated once, not counted
as an attempt. Anything that needs a longer wait leaves the round as ``RETRY`` or ``DEFER`` and is
parked in Kafka by the dispatcher.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from enum import StrEnum

from consumers.tokens import TokenManager
from consumers.zalo.client import OA_TEXT, ZBS_TEMPLATE, Accepted, TokenRefreshFailed, TokenRejected, ZaloClient
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


class Next(StrEnum):
    """What the dispatcher does with the notification after a round."""

    SENT = "sent"
    PERMANENT = "permanent_failure"
    RETRY = "retry"
    DEFER = "defer"
    PAUSE_OA = "pause_oa"
    WAIT_TOKEN = "wait_token"  # noqa: S105 - an outcome name, not a secret


@dataclass(frozen=True)
class RoundResult:
    """The end of one round."""

    next: Next
    code: int | None = None
    reason: str = ""
    accepted: Accepted | None = None
    not_before: float = 0.0


@dataclass(frozen=True)
class RoundPolicy:
    """Quick in-round retries: a couple of tries with a short, jittered pause."""

    tries: int = 2
    pause_s: float = 0.3

    def delay(self, attempt: int) -> float:
        """Full jitter around an exponential pause."""
        return random.uniform(0, self.pause_s * 2 ** (attempt - 1))


def defer_until(code: int | None, now: float) -> float:
    """When a deferred send may be tried again: after the night ban, or after the quota resets."""
    from consumers.retry import next_vn_time

    if code in (-133, -234):
        return next_vn_time(6, now)
    return next_vn_time(0, now) + 60  # quota day starts at midnight Vietnam time; leave Zalo a minute


class Sender:
    """Sends through a ZaloClient with the OA's current token."""

    def __init__(
        self,
        client: ZaloClient,
        tokens: TokenManager,
        policy: RoundPolicy | None = None,
        *,
        slots: asyncio.Semaphore | None = None,
    ) -> None:
        self._client = client
        self._tokens = tokens
        self._policy = policy or RoundPolicy()
        # Shared concurrency slots, held only around the HTTP exchange: a token wait must not hold one.
        self._slots = slots or asyncio.Semaphore(1_000_000)

    async def round(self, n: Notification) -> RoundResult:
        """Try to deliver ``n`` now."""
        endpoint = ZBS_TEMPLATE if n.channel is SendChannel.ZBS_PHONE else OA_TEXT
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            token = self._tokens.token(n.oa_id)
            started = time.perf_counter()
            try:
                async with self._slots:
                    accepted = await self._send(n, token)
            except TokenRejected as exc:
                _count(n, endpoint, "token_rejected", exc.code, started)
                if refreshed:
                    return RoundResult(Next.RETRY, exc.code, f"token still rejected after refresh: {exc}")
                try:
                    await self._tokens.refresh(n.oa_id, rejected=token)
                except TokenRefreshFailed as failure:
                    return RoundResult(Next.PAUSE_OA, failure.code, str(failure))
                except RetryableDelivery as failure:  # no new token yet: not this message's failure
                    return RoundResult(Next.WAIT_TOKEN, failure.code, str(failure))
                refreshed = True
                attempt -= 1
                continue
            except PermanentDelivery as exc:
                _count(n, endpoint, "permanent", exc.code, started)
                return RoundResult(Next.PERMANENT, exc.code, str(exc))
            except DeferredDelivery as exc:
                _count(n, endpoint, "deferred", exc.code, started)
                return RoundResult(Next.DEFER, exc.code, str(exc), not_before=defer_until(exc.code, time.time()))
            except OAConfigurationError as exc:
                _count(n, endpoint, "oa_config", exc.code, started)
                return RoundResult(Next.PAUSE_OA, exc.code, str(exc))
            except RetryableDelivery as exc:
                _count(n, endpoint, "retry", exc.code, started)
                reason = _reason(exc)
                if reason == "timeout":
                    metrics.POSSIBLE_DUPLICATES.labels(metrics.LABELS.oa(n.oa_id)).inc()
                if attempt >= self._policy.tries:
                    return RoundResult(Next.RETRY, exc.code, str(exc))
                metrics.RETRIES.labels(metrics.LABELS.oa(n.oa_id), reason).inc()
                await asyncio.sleep(self._policy.delay(attempt))
                continue
            _count(n, endpoint, "accepted", 0, started)
            metrics.child(metrics.END_TO_END_SECONDS, n.kind.value).observe(
                max(0.0, (now_vn() - n.occurred_at).total_seconds())
            )
            if accepted.remaining_quota is not None:
                metrics.child(metrics.QUOTA_REMAINING, metrics.LABELS.oa(n.oa_id)).set(accepted.remaining_quota)
            if accepted.daily_quota is not None:
                metrics.child(metrics.QUOTA_DAILY, metrics.LABELS.oa(n.oa_id)).set(accepted.daily_quota)
            return RoundResult(Next.SENT, 0, accepted=accepted)

    async def _send(self, n: Notification, token: str) -> Accepted:
        if n.channel is SendChannel.ZBS_PHONE and n.to.phone and n.template_id:
            return await self._client.send_template(
                token,
                phone=n.to.phone,
                template_id=n.template_id,
                template_data=n.template_data,
                tracking_id=n.tracking_id,
            )
        if n.to.zalo_user_id:
            return await self._client.send_text(token, user_id=n.to.zalo_user_id, text=n.text)
        raise PermanentDelivery("no phone and template, and no Zalo user id: nothing Zalo can address")


def _count(n: Notification, endpoint: str, outcome: str, code: int | None, started: float) -> None:
    oa = metrics.LABELS.oa(n.oa_id)
    metrics.child(metrics.ZALO_REQUESTS, oa, endpoint, outcome, str(code if code is not None else "")).inc()
    metrics.child(metrics.ZALO_REQUEST_SECONDS, oa, endpoint).observe(time.perf_counter() - started)


def _reason(exc: DeliveryError) -> str:
    if exc.code is not None:
        return f"zalo_{abs(exc.code)}"
    text = str(exc)
    if text.startswith(_NEVER_SENT):
        return "connect_timeout"  # no connection was made: Zalo never saw the request, so no possible duplicate
    return "timeout" if text.startswith("timeout") else "http" if text.startswith("HTTP") else "network"


_NEVER_SENT = ("timeout: ConnectTimeout", "timeout: PoolTimeout")
