"""The Faust application: topics, tables and the agents that join dossier events with followers.

Agents stay thin (iterate, call ``streams.join``, forward). Tables are keyed by dossier code and
co-partitioned with the dossier and subscription topics, so every lookup is local to the worker.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import faust

from hoso import metrics
from hoso.settings import Settings
from schemas import codec
from schemas.common import now_vn
from schemas.problems import Problem
from schemas.subscription import Subscription
from schemas.topics import DOSSIER_STATE_TABLE, FOLLOWERS_TABLE, Topics, catalogue
from streams import followers as fol
from streams.join import invalid_envelope, join, parse

log = logging.getLogger("hoso.streams")


@dataclass
class StreamsApp:
    """The Faust app with handles on what tests and the CLI need."""

    app: faust.App
    topics: Topics
    agents: dict[str, Any]
    tables: dict[str, Any]


def _raw_topic(app: faust.App, name: str, partitions: int) -> faust.TopicT:
    return app.topic(name, partitions=partitions, key_serializer="raw", value_serializer="raw")


def build(settings: Settings, *, store: str = "rocksdb://") -> StreamsApp:
    """Create the Faust app for ``settings`` (one per process; the worker calls it once)."""
    topics = catalogue(settings.topic_prefix, settings.partitions, settings.app_id)
    app = faust.App(
        settings.app_id,
        broker=[f"kafka://{host}" for host in settings.bootstrap.split(",")],
        store=store,
        datadir=str(settings.state_dir / settings.app_id),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_disable_leader=True,
        table_standby_replicas=0,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        producer_linger=0.005,
        producer_acks=-1,
        web_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    P = settings.partitions
    dossier_events = _raw_topic(app, topics.dossier_events.name, P)
    subscription_changes = _raw_topic(app, topics.subscription_changes.name, P)
    notifications = _raw_topic(app, topics.notifications.name, P)
    invalid = _raw_topic(app, topics.dossier_events_invalid.name, topics.dossier_events_invalid.partitions)
    # bytes in, bytes out: the codecs are ours (orjson), and Faust's JSON must not re-encode them.
    state_table = app.Table(DOSSIER_STATE_TABLE, default=None, partitions=P, key_type=bytes, value_type=bytes)
    followers_table = app.Table(FOLLOWERS_TABLE, default=None, partitions=P, key_type=bytes, value_type=bytes)

    @app.agent(dossier_events, name="join_dossier_events")
    async def join_dossier_events(stream: faust.StreamT) -> None:
        """Dedupe and apply each dossier event, update followers, emit one notification per follower."""
        async for record in stream.events():
            key, value, msg = record.key, record.value, record.message
            now = now_vn()
            try:
                problems = await _join_one(key, value, now)
            except Exception as exc:  # a bug must not skip a record: park it with the error, keep going
                log.exception("unexpected error on %s[%s]@%s", msg.topic, msg.partition, msg.offset)
                problems = [Problem("", f"internal error while processing: {type(exc).__name__}: {exc}")]
            if problems:
                metrics.EVENTS.labels("invalid", "unknown").inc()
                envelope = invalid_envelope(
                    key, value, problems, topic=msg.topic, partition=msg.partition, offset=msg.offset, now=now
                )
                await invalid.send(key=key, value=envelope, force=True)

    async def _join_one(key: bytes | None, value: bytes | None, now: datetime) -> list[Problem]:
        event, problems = parse(key, value)
        if event is None:
            return problems
        assert key is not None
        result = join(
            event,
            state_table.get(key),
            followers_table.get(key),
            pseudonym_key=settings.pseudonym_key,
            oa_id=settings.default_oa_id,
            now=now,
        )
        metrics.EVENTS.labels(result.outcome, result.agency).inc()
        if result.state is not None:
            state_table[key] = result.state.to_bytes()
        if result.followers is not None:
            followers_table[key] = fol.encode(result.followers)
        for n in result.notifications:
            await notifications.send(key=n.key.encode(), value=codec.dumps(n), force=True)
            metrics.NOTIFICATIONS_EMITTED.labels(n.trang_thai or "none", n.kind.value).inc()
        return []

    @app.agent(subscription_changes, name="apply_subscription_changes")
    async def apply_subscription_changes(stream: faust.StreamT) -> None:
        """Apply follow / unfollow requests to the followers table."""
        async for record in stream.events():
            change, _problems = codec.decode(Subscription, record.value or b"")
            if change is None or record.key != change.ma_ho_so.encode():
                metrics.SUBSCRIPTION_CHANGES.labels("unknown", "invalid").inc()
                continue
            current = fol.decode(followers_table.get(record.key))
            followers_table[record.key] = fol.encode(fol.apply(current, change))
            action = "follow" if change.active else "unfollow"
            metrics.SUBSCRIPTION_CHANGES.labels(change.source.value, action).inc()

    return StreamsApp(
        app=app,
        topics=topics,
        agents={
            "join_dossier_events": join_dossier_events,
            "apply_subscription_changes": apply_subscription_changes,
        },
        tables={DOSSIER_STATE_TABLE: state_table, FOLLOWERS_TABLE: followers_table},
    )


def run_worker(settings: Settings) -> None:
    """Run one Faust worker until SIGTERM/SIGINT."""
    (settings.state_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    streams = build(settings)
    metrics.serve(settings.metrics_port)
    worker = faust.Worker(streams.app, loglevel=settings.log_level.lower(), quiet=True)
    worker.execute_from_commandline()
