"""Rating sync-back (``hoso ratings sync``): each rating version is posted to its agency's system once.

QĐ 31/2021 makes the provincial and ministry systems sync survey data to the national portal, so ratings
captured on Zalo must reach the agency's one-stop system, which already does that sync. This consumer
reads the compacted ratings topic and POSTs each rating as a ``DanhGiaHaiLong`` record.

* Exactly once, across kills: an accepted POST is noted on ``ratings-sync-log.v1`` (keyed and partitioned like
  the rating) before the offset is committed; the log is read back before any record of a newly assigned
  partition is handled. The sync id is also sent as ``Idempotency-Key`` for the one-request window between
  acceptance and the log write.
* Durable retries: a failed POST (network, 5xx, 408, 429) is retried in place with backoff and never given
  up; the record stays uncommitted, so a restart retries it too. A 4xx refusal is counted and logged as
  rejected (the agency must look at it); retrying it unchanged could not succeed.
* Every rating also moves the per-agency satisfaction counter (``hoso_ratings_total``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from pathlib import Path

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition

from consumers.ratings.endpoints import AgencyEndpoint, Endpoints, load_endpoints
from consumers.sentlog import SentLog
from hoso import metrics
from hoso.health import Health
from hoso.kafka import clients as kafka_clients
from hoso.kafka.lag import start_lag_exporter
from hoso.settings import Settings
from schemas.codec import decode
from schemas.rating import Rating, danh_gia_hai_long

log = logging.getLogger("hoso.ratings")

BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, sync: RatingSync) -> None:
        self.s = sync

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self.s.health is not None:
            self.s.health.revoked()
        self.s.ready.clear()
        self.s.sync_log.forget(sorted({tp.partition for tp in revoked}))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.s.ready.clear()  # aiokafka fetches new partitions while this runs: hold records until loaded
        loaded = await self.s.sync_log.load(sorted({tp.partition for tp in assigned}))
        self.s.ready.set()
        if self.s.health is not None:
            self.s.health.assigned(len(assigned))
        log.info("assigned %d partitions; %d synced ratings loaded", len(assigned), loaded)


class RatingSync:
    """One member of the rating sync-back consumer group."""

    def __init__(
        self,
        settings: Settings,
        *,
        endpoints: Endpoints | None = None,
        backoff_s: tuple[float, ...] = BACKOFF_S,
    ) -> None:
        if endpoints is None:
            path = settings.ratings_sync_config
            endpoints = load_endpoints(Path(path)) if path else Endpoints()
        self.settings = settings
        self.endpoints = endpoints
        self.topics = settings.topics
        self.client_config = kafka_clients.aiokafka(settings)
        # A rating can be re-read long after it was posted (compacted topic, new group): read the whole log.
        self.sync_log = SentLog(self.client_config, self.topics.ratings_sync_log.name, 10 * 365 * 86400.0)
        self.outcomes: dict[str, int] = {}
        self.ready = asyncio.Event()
        self._http = httpx.AsyncClient(timeout=settings.ratings_sync_timeout_s)
        self._backoff = backoff_s
        self._stopping = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self.health: Health | None = None
        """Probe state (``hoso ratings sync`` sets it): the fetch loop polls; an agency outage waited out counts."""

    def stop(self) -> None:
        """Finish the record in hand, leave (SIGTERM)."""
        self._stopping.set()

    @property
    def handled(self) -> int:
        """Rating records finished, whatever the outcome."""
        return sum(self.outcomes.values())

    async def run(self) -> None:
        """Consume until stopped."""
        self._producer = AIOKafkaProducer(**self.client_config, acks="all", enable_idempotence=True)
        await self._producer.start()
        self._consumer = AIOKafkaConsumer(
            **self.client_config,
            group_id=self.settings.ratings_sync_group,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=100,
            client_id="hoso-ratings-sync",
        )
        self._consumer.subscribe([self.topics.ratings.name], listener=_Rebalance(self))
        await self._consumer.start()
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=200)
                self._progress()
                if not batches:
                    continue
                while not self.ready.is_set() and not self._stopping.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.ready.wait(), 0.5)
                owned = self._consumer.assignment()
                await asyncio.gather(*(self._partition(tp, rs) for tp, rs in batches.items() if tp in owned))
        finally:
            with contextlib.suppress(Exception):
                await self._consumer.stop()
            await self._producer.stop()
            await self._http.aclose()
            log.info("rating sync stopped: %s", self.outcomes)

    async def _partition(self, tp: TopicPartition, records: list[ConsumerRecord]) -> None:
        assert self._consumer is not None
        for record in records:
            if self._stopping.is_set() or not await self._handle(tp, record):
                return
            await self._consumer.commit({tp: record.offset + 1})

    async def _handle(self, tp: TopicPartition, record: ConsumerRecord) -> bool:
        """Handle one rating; False when stopping interrupted it (it must be handled again)."""
        if record.value is None:  # a tombstone (a rating withdrawn by an operator): nothing to post
            return True
        rating, problems = decode(Rating, record.value)
        if rating is None:
            log.warning("invalid rating record at %s[%d]@%d: %s", tp.topic, tp.partition, record.offset, problems[:3])
            self._count("unknown", "invalid")
            return True
        if self.sync_log.seen(tp.partition, rating.sync_id):
            self._count(rating.agency, "already_synced")
            return True
        endpoint = self.endpoints.for_agency(rating.agency)
        outcome = "no_endpoint" if endpoint is None else await self._post(endpoint, rating)
        if outcome == "stopped":
            return False
        metrics.RATINGS.labels(metrics.LABELS.agency(rating.agency), rating.muc_do.name.lower()).inc()
        if outcome == "synced":
            assert self._producer is not None and endpoint is not None
            await self.sync_log.record(
                self._producer, tp.partition, record.key, rating.sync_id, endpoint.name, rating.agency
            )
        self._count(rating.agency, outcome)
        return True

    async def _post(self, endpoint: AgencyEndpoint, rating: Rating) -> str:
        body = orjson.dumps(danh_gia_hai_long(rating, endpoint.loai_danh_gia))
        headers = {"Content-Type": "application/json", "Idempotency-Key": rating.sync_id}
        if endpoint.token:
            headers["Authorization"] = f"Bearer {endpoint.token}"
        attempt = 0
        while True:
            try:
                response = await self._http.post(endpoint.url, content=body, headers=headers)
                status = response.status_code
            except httpx.HTTPError as exc:
                status, why = 0, type(exc).__name__
            else:
                why = f"HTTP {status}"
            if 200 <= status < 300:
                return "synced"
            if 400 <= status < 500 and status not in (408, 429):
                log.error("agency %s refused rating %s: %s", endpoint.name, rating.sync_id, why)
                return "rejected"
            metrics.RATING_SYNCS.labels(metrics.LABELS.agency(rating.agency), "retry").inc()
            pause = self._backoff[min(attempt, len(self._backoff) - 1)]
            attempt += 1
            log.warning("rating sync to %s failed (%s); retry %d in %.1fs", endpoint.name, why, attempt, pause)
            await self._pause(pause)  # waiting out the agency on purpose: restarting would not help
            if self._stopping.is_set():
                return "stopped"

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

    def _count(self, agency: str, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        metrics.RATING_SYNCS.labels(metrics.LABELS.agency(agency), outcome).inc()


def run_rating_sync(settings: Settings) -> None:
    """Run the rating sync-back until SIGTERM/SIGINT."""
    sync = RatingSync(settings)
    sync.health = Health(
        "ratings-sync",
        loop_stall_s=settings.health_loop_stall_s,
        poll_stall_s=settings.health_poll_stall_s,
        consumer=True,
    )
    metrics.LABELS.configure(agencies=settings.metric_agencies.split(","))
    metrics.serve(settings.metrics_port, "ratings-sync", sync.health)
    if settings.metrics_port:
        start_lag_exporter(settings, settings.ratings_sync_group, [settings.topics.ratings.name])

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, sync.stop)
        assert sync.health is not None
        beating = sync.health.start_heartbeat()  # noqa: F841 (kept referenced for the life of the loop)
        await sync.run()

    asyncio.run(main())
