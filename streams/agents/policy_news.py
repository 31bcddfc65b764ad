"""Policy news, paced per citizen: quiet hours, a daily cap and one message per broadcast per person.

The broadcast agent writes each POLICY recipient's message to ``policy-news.v1`` keyed by subscriber id, so
every copy for one person (from any partition of the dossier tables or the OA audience) arrives here, on the
partition of that person's ``policy_pacing`` row (``streams.audience`` decides). A message arriving in quiet
hours waits in the row; as in ``streams.agents.timers``, a timer cannot write tables, so it sends a *tick*
keyed by the citizen to the same topic, carrying the time it was issued, and this agent releases inside
stream iteration. Tests drive the clock with ``ctx.clock`` and ticks from the future.

Messages go to the notifications topic through the batch pipeline: the pacing row is written only after
Kafka acknowledged them, so a crash repeats a message (same tracking id, dropped by the dispatcher's
sent-log), never loses one.
"""

from __future__ import annotations

import logging
from datetime import datetime

import faust
import orjson

from hoso import metrics
from hoso.quiet_hours import QuietHours
from schemas import codec
from schemas.notification import Kind, Notification
from schemas.problems import Problem
from schemas.topics import POLICY_PACING_TABLE
from streams import audience as aud
from streams import guard
from streams.batching import Batch
from streams.context import StreamsApp

log = logging.getLogger("hoso.streams.policy_news")

TICK = "release"


def tick_record(at: datetime) -> bytes:
    """The value of a release tick issued at ``at``."""
    return orjson.dumps({"tick": TICK, "at": at.isoformat()})


def register(ctx: StreamsApp) -> None:
    """Attach the pacing agent and its release timer to ``ctx.app``."""
    settings, topics = ctx.settings, ctx.topics
    news = ctx.topic(topics.policy_news.name, topics.policy_news.partitions)
    notifications = ctx.topic(topics.notifications.name, topics.notifications.partitions)
    pacing_table = ctx.table(POLICY_PACING_TABLE)
    quiet = QuietHours.parse(settings.quiet_hours)
    per_day = settings.policy_news_per_day
    in_flight: dict[bytes, datetime] = {}

    def apply(batch: Batch, record: faust.EventT) -> None:
        key = record.key
        try:
            value = orjson.loads(record.value or b"null")
        except orjson.JSONDecodeError as exc:
            guard.park(ctx, batch, record, [Problem("", f"not JSON: {exc}")])
            return
        if key is None or not isinstance(value, dict):
            guard.park(ctx, batch, record, [Problem("key", "policy news needs the subscriber id as its key")])
            return
        row = orjson.loads(raw) if (raw := batch.get(POLICY_PACING_TABLE, key)) else None
        if value.get("tick") == TICK:
            in_flight.pop(key, None)
            paced = aud.on_tick(row, at=datetime.fromisoformat(value["at"]), per_day=per_day)
        else:
            n, problems = codec.decode(Notification, record.value or b"")
            if n is None or n.kind is not Kind.POLICY or n.to.subscriber_id.encode() != key:
                guard.park(ctx, batch, record, problems or [Problem("", "not a POLICY notification for this key")])
                return
            paced = aud.on_news(row, value, now=ctx.clock(), quiet=quiet, per_day=per_day)
        for message in paced.send:
            batch.send(notifications, key, orjson.dumps(message))
            metrics.NOTIFICATIONS_EMITTED.labels("none", Kind.POLICY.value).inc()
        if paced.pacing is not None:
            batch.put(record, POLICY_PACING_TABLE, key, orjson.dumps(paced.pacing, option=orjson.OPT_SORT_KEYS))
        for outcome in paced.outcomes:
            metrics.POLICY_NEWS.labels(outcome).inc()

    @ctx.app.agent(news, name="pace_policy_news")
    async def pace_policy_news(stream: faust.StreamT) -> None:
        """Apply quiet hours, the daily cap and per-broadcast dedupe to each citizen's policy news."""
        async for batch in ctx.pipeline.batches(stream):
            for record in batch:
                try:
                    apply(batch, record)
                except Exception as exc:  # one bad record must not stop the news of everyone else
                    log.exception("policy news at offset %s failed", record.message.offset)
                    guard.park(ctx, batch, record, guard.problems_of(exc))

    @ctx.app.timer(interval=settings.lifecycle_tick_s, name="release_policy_news")
    async def release_policy_news() -> None:
        """Tick the citizens of this worker whose waiting news may go now."""
        now = ctx.clock()
        for key in [k for k, raw in list(pacing_table.items()) if aud.due(raw, now)]:
            last = in_flight.get(key)
            if last is not None and (now - last).total_seconds() < 30:
                continue
            in_flight[key] = now
            await news.send(key=key, value=tick_record(now), force=True)

    ctx.agents["pace_policy_news"] = pace_policy_news
    ctx.agents["release_policy_news"] = release_policy_news
