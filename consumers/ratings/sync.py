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

import logging
from pathlib import Path

import httpx
import orjson
from aiokafka import ConsumerRecord, TopicPartition

from consumers.ratings.endpoints import AgencyEndpoint, Endpoints, load_endpoints
from consumers.send_once import SendOnceConsumer, run_until_signalled
from hoso import metrics
from hoso.settings import Settings
from schemas.codec import decode
from schemas.rating import Rating, danh_gia_hai_long

log = logging.getLogger("hoso.ratings")

BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


class RatingSync(SendOnceConsumer):
    """One member of the rating sync-back consumer group."""

    what = "rating sync"
    loaded_what = "synced ratings loaded"

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
        super().__init__(
            settings,
            log=log,
            topic=settings.topics.ratings.name,
            group=settings.ratings_sync_group,
            client_id="hoso-ratings-sync",
            sent_log_topic=settings.topics.ratings_sync_log.name,
            # A rating can be re-read long after it was posted (compacted topic, new group): read the whole log.
            sent_log_lookback_s=10 * 365 * 86400.0,
            http=httpx.AsyncClient(timeout=settings.ratings_sync_timeout_s),
            backoff_s=backoff_s,
        )
        self.endpoints = endpoints
        self.outcomes = {}

    async def _handle(self, tp: TopicPartition, record: ConsumerRecord) -> bool:
        """Handle one rating; False when stopping interrupted it (it must be handled again)."""
        if record.value is None:  # a tombstone (a rating withdrawn by an operator): nothing to post
            return True
        rating, problems = decode(Rating, record.value)
        if rating is None:
            log.warning("invalid rating record at %s[%d]@%d: %s", tp.topic, tp.partition, record.offset, problems[:3])
            self._count("unknown", "invalid")
            return True
        if self.sent_log.seen(tp.partition, rating.sync_id):
            self._count(rating.agency, "already_synced")
            return True
        endpoint = self.endpoints.for_agency(rating.agency)
        outcome = "no_endpoint" if endpoint is None else await self._post(endpoint, rating)
        if outcome == "stopped":
            return False
        metrics.RATINGS.labels(metrics.LABELS.agency(rating.agency), rating.muc_do.name.lower()).inc()
        if outcome == "synced":
            assert endpoint is not None
            await self._note_sent(tp, record, rating.sync_id, endpoint.name, rating.agency)
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
            pause = self._retry_delay(attempt)
            attempt += 1
            log.warning("rating sync to %s failed (%s); retry %d in %.1fs", endpoint.name, why, attempt, pause)
            if not await self._pause(pause):  # waiting out the agency on purpose: restarting would not help
                return "stopped"

    def _count(self, agency: str, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        metrics.RATING_SYNCS.labels(metrics.LABELS.agency(agency), outcome).inc()


def run_rating_sync(settings: Settings) -> None:
    """Run the rating sync-back until SIGTERM/SIGINT."""
    metrics.LABELS.configure(agencies=settings.metric_agencies.split(","))
    run_until_signalled(RatingSync(settings), "ratings-sync")
