"""The SMS fallback process (``hoso sms``): texts citizens whom Zalo can never reach, once each.

It consumes ``delivery-failures.v1`` in its own consumer group, so it never slows the dispatcher, and it is
off unless ``HOSO_SMS_CONFIG`` names providers. Per record, ``message.plan`` decides (consent, phone, a
Zalo code that means "unreachable", a provider for the OA); a planned text is sent and then noted in the
SMS sent-log before the offset is committed.

* No double texts across restarts: the sent-log (a Kafka topic partitioned like the failures) is read back
  when partitions are assigned, and a record whose tracking id is in it is skipped. The one window left is
  a crash between the provider accepting and the sent-log write; the tracking id is sent as the provider's
  ``request_id`` so a provider that deduplicates closes it too.
* Retries: a transient provider failure is retried in place with backoff (the offset is not committed, so a
  crash retries it too) up to ``HOSO_SMS_MAX_ATTEMPTS``, then given up with a metric and a log line. A
  configuration failure (bad key, unregistered brandname) is retried until an operator fixes it: giving up
  would silently drop every text of that OA.
* Stale failures (older than ``HOSO_SMS_MAX_AGE_S``, e.g. when a new group starts at the beginning of the
  topic) are not texted: news of a weeks-old status change by SMS would mislead more than it helps.
* One partition's records are handled in order; partitions proceed in parallel.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import ConsumerRecord, TopicPartition

from consumers.send_once import SendOnceConsumer, run_until_signalled
from consumers.sms.message import SmsPlan, plan
from consumers.sms.providers import ProviderRegistry, SendOutcome, load_providers
from hoso import metrics
from hoso.errors import ConfigurationError
from hoso.settings import Settings

log = logging.getLogger("hoso.sms")

BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)


@dataclass
class SmsStats:
    """Running totals by outcome, for logs and tests."""

    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: str) -> None:
        """Count one handled record."""
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    @property
    def handled(self) -> int:
        """Records finished, whatever the outcome."""
        return sum(self.outcomes.values())


class SmsFallback(SendOnceConsumer):
    """One member of the SMS fallback consumer group."""

    what = "SMS fallback"
    loaded_what = "recent texts loaded from the SMS sent-log"

    def __init__(
        self,
        settings: Settings,
        *,
        providers: ProviderRegistry | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        backoff_s: tuple[float, ...] = BACKOFF_S,
    ) -> None:
        if providers is None:
            if not settings.sms_config:
                raise ConfigurationError("the SMS fallback is off: set HOSO_SMS_CONFIG to a providers file")
            providers = load_providers(Path(settings.sms_config))
        super().__init__(
            settings,
            log=log,
            topic=settings.topics.delivery_failures.name,
            group=settings.sms_group,
            client_id="hoso-sms",
            producer_client_id="hoso-sms",
            sent_log_topic=settings.topics.sms_sent_log.name,
            # Read back as far as a failure can be texted at all (older ones are skipped as stale).
            sent_log_lookback_s=settings.sms_max_age_s + 3600,
            http=httpx.AsyncClient(timeout=settings.sms_timeout_s, transport=transport),
            backoff_s=backoff_s,
        )
        self.providers = providers
        self.stats = SmsStats()

    @property
    def outcomes(self) -> dict[str, int]:  # type: ignore[override]
        """Records finished, by outcome (the same totals as ``stats``)."""
        return self.stats.outcomes

    async def _handle(self, tp: TopicPartition, record: ConsumerRecord) -> bool:
        """Handle one failure record; False when stopping interrupted it (it must be handled again)."""
        try:
            failure: Any = orjson.loads(record.value or b"null")
        except orjson.JSONDecodeError:
            failure = None
        decided = plan(failure, self.providers)
        if isinstance(decided, SmsPlan) and time.time() - record.timestamp / 1000 > self.settings.sms_max_age_s:
            decided = "stale"  # e.g. a new consumer group starting at the topic's 30-day-old beginning
        if not isinstance(decided, SmsPlan):
            self._count("unknown" if decided == "invalid" else _oa_of(failure), decided)
            return True
        if self.sent_log.seen(tp.partition, decided.tracking_id):
            self._count(decided.oa_id, "already_sent")
            return True
        outcome, message_id = await self._send(decided)
        if outcome == "stopped":
            return False
        if outcome == "sent":
            await self._note_sent(tp, record, decided.tracking_id, message_id, decided.oa_id)
        self._count(decided.oa_id, outcome)
        return True

    async def _send(self, p: SmsPlan) -> tuple[str, str]:
        """Send with retries: (outcome, provider message id); outcome is sent, rejected, gave_up or stopped."""
        transient = 0
        attempt = 0
        while True:
            result = await p.provider.send(
                self._http, oa_id=p.oa_id, phone=p.phone, message=p.message, request_id=p.tracking_id
            )
            if result.outcome is SendOutcome.ACCEPTED:
                return "sent", result.message_id
            if result.outcome is SendOutcome.PERMANENT:
                log.info("SMS refused for %s: code %s %s", p.tracking_id, result.code, result.reason)
                return "rejected", ""
            if result.outcome is SendOutcome.TRANSIENT:
                transient += 1
                if transient >= self.settings.sms_max_attempts:
                    log.error("SMS for %s given up after %d attempts: %s", p.tracking_id, transient, result.reason)
                    return "gave_up", ""
            else:
                log.error(
                    "SMS provider %s for OA %s misconfigured (%s %s); retrying until fixed",
                    p.provider.name,
                    p.oa_id,
                    result.code,
                    result.reason,
                )
            pause = self._retry_delay(attempt)
            attempt += 1
            if not await self._pause(pause):  # waiting out the provider on purpose: restarting would not help
                return "stopped", ""

    def _count(self, oa: str, outcome: str) -> None:
        self.stats.add(outcome)
        metrics.SMS_MESSAGES.labels(oa, outcome).inc()


def _oa_of(failure: Any) -> str:
    if isinstance(failure, dict) and isinstance(failure.get("notification"), dict):
        oa = failure["notification"].get("oa_id")
        if isinstance(oa, str) and 0 < len(oa) <= 64:
            return oa
    return "unknown"


def run_sms(settings: Settings) -> None:
    """Run the SMS fallback until SIGTERM/SIGINT (refuses to start when it is not configured)."""
    run_until_signalled(SmsFallback(settings), "sms")
