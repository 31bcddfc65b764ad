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

import asyncio
import contextlib
import logging
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from consumers.sentlog import SentLog
from consumers.sms.message import SmsPlan, plan
from consumers.sms.providers import ProviderRegistry, SendOutcome, load_providers
from hoso import metrics
from hoso.errors import ConfigurationError
from hoso.health import Health
from hoso.kafka import clients as kafka_clients
from hoso.kafka.lag import start_lag_exporter
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


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, fallback: SmsFallback) -> None:
        self.f = fallback

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self.f.health is not None:
            self.f.health.revoked()
        self.f.sent_log_ready.clear()
        self.f.sent_log.forget(sorted({tp.partition for tp in revoked}))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # aiokafka starts fetching newly assigned partitions while this callback still runs, so records are
        # held back (``sent_log_ready``) until the sent-log is loaded; otherwise a re-read failure could be
        # texted again before the log that says it was already texted is known.
        self.f.sent_log_ready.clear()
        loaded = await self.f.sent_log.load(sorted({tp.partition for tp in assigned}))
        self.f.sent_log_ready.set()
        if self.f.health is not None:
            self.f.health.assigned(len(assigned))
        log.info("assigned %d partitions; %d recent texts loaded from the SMS sent-log", len(assigned), loaded)


class SmsFallback:
    """One member of the SMS fallback consumer group."""

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
        self.settings = settings
        self.providers = providers
        self.topics = settings.topics
        self.client_config = kafka_clients.aiokafka(settings)
        # Read back as far as a failure can be texted at all (older ones are skipped as stale).
        self.sent_log = SentLog(self.client_config, self.topics.sms_sent_log.name, settings.sms_max_age_s + 3600)
        self.stats = SmsStats()
        self._http = httpx.AsyncClient(timeout=settings.sms_timeout_s, transport=transport)
        self._backoff = backoff_s
        self._stopping = asyncio.Event()
        self.sent_log_ready = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self.health: Health | None = None
        """Probe state (``hoso sms`` sets it): the fetch loop polls, and a provider outage waited out counts."""

    def stop(self) -> None:
        """Finish the records in hand, commit, leave (SIGTERM)."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped."""
        self._producer = AIOKafkaProducer(
            **self.client_config, acks="all", enable_idempotence=True, client_id="hoso-sms"
        )
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            **self.client_config,
            group_id=self.settings.sms_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=100,
            client_id="hoso-sms",
        )
        self._consumer.subscribe([self.topics.delivery_failures.name], listener=_Rebalance(self))
        await self._consumer.start()
        log.info("SMS fallback consuming %s as %s", self.topics.delivery_failures.name, self.settings.sms_group)
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=200)
                self._progress()
                if not batches:
                    continue
                while not self.sent_log_ready.is_set() and not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.sent_log_ready.wait(), 0.5)
                owned = self._consumer.assignment()
                await asyncio.gather(*(self._partition(tp, records) for tp, records in batches.items() if tp in owned))
        finally:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            await self._producer.stop()
            await self._http.aclose()
            log.info("SMS fallback stopped: %s", self.stats.outcomes)

    async def _partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        assert self._consumer is not None
        for record in records:
            if self._stopping.is_set() or not await self._handle(tp, record):
                return  # not committed: the next owner (or this process restarted) handles it
            await self._consumer.commit({tp: record.offset + 1})

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
            assert self._producer is not None
            await self.sent_log.record(
                self._producer, tp.partition, record.key, decided.tracking_id, message_id, decided.oa_id
            )
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
            pause = self._backoff[min(attempt, len(self._backoff) - 1)]
            attempt += 1
            await self._pause(pause)  # waiting out the provider on purpose: restarting would not help
            if self._stopping.is_set():
                return "stopped", ""

    def _progress(self) -> None:
        if self.health is not None:
            self.health.polled()

    async def _pause(self, seconds: float) -> None:
        """Wait ``seconds`` or until stopped, telling the probe every few seconds that this is on purpose."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            self._progress()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), min(left, 5.0))

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
    fallback = SmsFallback(settings)
    fallback.health = Health(
        "sms", loop_stall_s=settings.health_loop_stall_s, poll_stall_s=settings.health_poll_stall_s, consumer=True
    )
    metrics.serve(settings.metrics_port, "sms", fallback.health)
    if settings.metrics_port:
        start_lag_exporter(settings, settings.sms_group, [settings.topics.delivery_failures.name])

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, fallback.stop)
        assert fallback.health is not None
        beating = fallback.health.start_heartbeat()  # noqa: F841 (kept referenced for the life of the loop)
        await fallback.run()

    asyncio.run(main())
