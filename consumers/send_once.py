"""A consumer-group member that makes one outside call per record, once, across restarts and rebalances.

The SMS fallback (texts to citizens) and the rating sync-back (POSTs to agencies) must never repeat a call
the other side accepted, and must never drop a record because that side was down. Both do it the same way,
which lives here once:

* A sent-log (``consumers.sentlog.SentLog``, a topic partitioned like the input) is read back for every newly
  assigned partition before any of its records is handled: aiokafka fetches new partitions while the
  rebalance callback still runs, so records are held (``sent_log_ready``) until the log is loaded.
* One partition's records are handled in order, partitions in parallel; the offset is committed only after a
  record is finished, so a crash or a stop mid-retry leaves it to the next owner.
* Retries wait out the other side in place (``_retry_delay``, ``_pause``), telling the health probe the wait
  is on purpose: restarting would not help.

What a record means, how it is sent and what counts as an outcome is the subclass's ``_handle``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time

import httpx
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from consumers.sentlog import SentLog
from hoso import metrics
from hoso.health import Health
from hoso.kafka import clients as kafka_clients
from hoso.kafka.lag import start_lag_exporter
from hoso.kafka.producer import RenewingProducer
from hoso.settings import Settings


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, member: SendOnceConsumer) -> None:
        self.m = member

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self.m.health is not None:
            self.m.health.revoked()
        self.m.sent_log_ready.clear()
        self.m.sent_log.forget(sorted({tp.partition for tp in revoked}))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        # Held back until the sent-log is loaded; otherwise a re-read record could be sent again before the
        # log that says it was already sent is known.
        self.m.sent_log_ready.clear()
        loaded = await self.m.sent_log.load(sorted({tp.partition for tp in assigned}))
        self.m.sent_log_ready.set()
        if self.m.health is not None:
            self.m.health.assigned(len(assigned))
        self.m.log.info("assigned %d partitions; %d %s", len(assigned), loaded, self.m.loaded_what)


class SendOnceConsumer:
    """The consume / hold / handle-in-order / commit loop; subclasses implement ``_handle``."""

    what = "consumer"
    """How the log lines name this process ("SMS fallback")."""
    loaded_what = "sent-log entries loaded"
    """How the rebalance log line names what the sent-log load found."""
    outcomes: dict[str, int]
    """Records finished, by outcome (for logs and tests)."""

    def __init__(
        self,
        settings: Settings,
        *,
        log: logging.Logger,
        topic: str,
        group: str,
        client_id: str,
        sent_log_topic: str,
        sent_log_lookback_s: float,
        http: httpx.AsyncClient,
        backoff_s: tuple[float, ...],
        producer_client_id: str | None = None,
    ) -> None:
        self.settings = settings
        self.log = log
        self.client_config = kafka_clients.aiokafka(settings)
        self.topic = topic
        self.group = group
        self.sent_log = SentLog(self.client_config, sent_log_topic, sent_log_lookback_s)
        self.sent_log_ready = asyncio.Event()
        self._client_id = client_id
        self._producer_client_id = producer_client_id
        self._http = http
        self._backoff = backoff_s
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: RenewingProducer | None = None
        self.health: Health | None = None
        """Probe state (the command sets it): the fetch loop polls, and an outage waited out counts."""

    def stop(self) -> None:
        """Finish the record in hand, leave (SIGTERM)."""
        self._stopping.set()

    @property
    def handled(self) -> int:
        """Records finished, whatever the outcome."""
        return sum(self.outcomes.values())

    async def run(self) -> None:
        """Consume until stopped."""
        named = {} if self._producer_client_id is None else {"client_id": self._producer_client_id}
        self._producer = RenewingProducer.idempotent(self.client_config, name=f"{self.what} producer", **named)
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            **self.client_config,
            group_id=self.group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=100,
            client_id=self._client_id,
        )
        self._consumer.subscribe([self.topic], listener=_Rebalance(self))
        await self._consumer.start()
        self.log.info("%s consuming %s as %s", self.what, self.topic, self.group)
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
            self.log.info("%s stopped: %s", self.what, self.outcomes)

    async def _partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        assert self._consumer is not None
        for record in records:
            if self._stopping.is_set() or not await self._handle(tp, record):
                return  # not committed: the next owner (or this process restarted) handles it
            await self._consumer.commit({tp: record.offset + 1})

    async def _handle(self, tp: TopicPartition, record: ConsumerRecord) -> bool:
        """Handle one record; False when stopping interrupted it (it must be handled again)."""
        raise NotImplementedError

    async def _note_sent(
        self, tp: TopicPartition, record: ConsumerRecord, sent_id: str, msg_id: str, oa_id: str
    ) -> None:
        """Write an accepted call to the sent-log (keyed and partitioned like ``record``) before its commit."""
        assert self._producer is not None
        await self.sent_log.record(self._producer, tp.partition, record.key, sent_id, msg_id, oa_id)

    def _retry_delay(self, attempt: int) -> float:
        """The pause after failed attempt number ``attempt`` (from 0; the last step repeats)."""
        return self._backoff[min(attempt, len(self._backoff) - 1)]

    def _progress(self) -> None:
        if self.health is not None:
            self.health.polled()

    async def _pause(self, seconds: float) -> bool:
        """Wait ``seconds`` or until stopped, telling the probe every few seconds that this is on purpose;
        False when stopping cut it short (the record must be left for the next owner)."""
        deadline = time.monotonic() + seconds
        while not self._stopping.is_set() and (left := deadline - time.monotonic()) > 0:
            self._progress()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), min(left, 5.0))
        return not self._stopping.is_set()


def run_until_signalled(member: SendOnceConsumer, role: str) -> None:
    """Serve ``member``'s probes and metrics as ``role`` and run it until SIGTERM/SIGINT."""
    settings = member.settings
    member.health = Health(
        role, loop_stall_s=settings.health_loop_stall_s, poll_stall_s=settings.health_poll_stall_s, consumer=True
    )
    metrics.serve(settings.metrics_port, role, member.health)
    if settings.metrics_port:
        start_lag_exporter(settings, member.group, [member.topic])

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, member.stop)
        assert member.health is not None
        beating = member.health.start_heartbeat()  # noqa: F841 (kept referenced for the life of the loop)
        await member.run()

    asyncio.run(main())
