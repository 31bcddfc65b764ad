"""The Faust application: builds the app, its topics and tables, and registers each agent family.

Each family of agents lives in its own module with a ``register(ctx)`` function, so adding one (chat,
broadcasts, timers) is a new module and one line here. Tables are keyed by dossier code and
co-partitioned with the dossier and subscription topics, so every lookup is local to the worker.
"""

from __future__ import annotations

import asyncio
import logging
import sys

import faust

from hoso import metrics
from hoso.health import BEAT_INTERVAL_S, Health
from hoso.kafka import clients as kafka_clients
from hoso.kafka.lag import start_lag_exporter
from hoso.settings import Settings
from schemas.topics import DOSSIER_STATE_TABLE, FOLLOWERS_TABLE
from streams import commit_guard, local_state, recovery_guard
from streams.context import StreamsApp

log = logging.getLogger("hoso.streams")


def build(settings: Settings, *, store: str = "rocksdb://") -> StreamsApp:
    """Create the Faust app for ``settings`` (one per process; the worker calls it once)."""
    from streams.agents import broadcast as broadcast_agents
    from streams.agents import chat as chat_agents
    from streams.agents import dossier as dossier_agents
    from streams.agents import operator_api as chat_operator_api
    from streams.agents import policy_news as policy_news_agents
    from streams.agents import ratings as rating_agents
    from streams.agents import timers as lifecycle_agents

    app = commit_guard.GuardedApp(
        settings.app_id,
        **kafka_clients.faust_broker(settings),
        store=store,
        datadir=str(settings.state_dir / settings.app_id),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        topic_disable_leader=True,
        table_standby_replicas=0,
        processing_guarantee="at_least_once",
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=0.5,
        broker_session_timeout=settings.streams_session_timeout_s,
        broker_heartbeat_interval=max(0.5, settings.streams_session_timeout_s / 5),
        producer_linger=0.01,
        producer_acks=-1,
        web_enabled=settings.streams_web_port > 0,
        web_port=settings.streams_web_port or 6066,
        web_bind=settings.streams_web_host,
        web_host=settings.streams_web_host,
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        key_serializer="raw",
        value_serializer="raw",
        TableManager=recovery_guard.GuardedTableManager,
    )
    app.commit_probe = commit_guard.BrokerProbe(kafka_clients.aiokafka(settings))
    ctx = StreamsApp(app=app, settings=settings, topics=settings.topics)
    ctx.table(DOSSIER_STATE_TABLE)
    ctx.table(FOLLOWERS_TABLE)
    dossier_agents.register(ctx)
    lifecycle_agents.register(ctx)
    broadcast_agents.register(ctx)
    chat_agents.register(ctx)
    chat_operator_api.register(ctx)
    rating_agents.register(ctx)  # issue 20: ZBS survey invitations, for the rating template's callback
    policy_news_agents.register(ctx)  # issue 20: POLICY broadcasts paced per citizen
    return ctx


PAYLOAD_LOGGERS = ("faust.topics", "faust.transport.drivers.aiokafka")
"""Faust loggers whose DEBUG lines print every record sent, table changelogs included (phone numbers, names):
held at INFO even when the worker runs at DEBUG."""


def worker_health(streams: StreamsApp, settings: Settings) -> Health:
    """Health of a worker: its event loop beats (a task of the app), it is in its group, its tables are restored.

    Faust fetches in its own consumer thread, so the loop's heartbeat is what shows a stuck worker: agents,
    timers and table writes all run on that loop. The readiness facts are read on the loop too (Faust builds
    some of its objects lazily, which must not happen from the probe thread) and are as fresh as the beat.
    """
    app = streams.app
    health = Health("worker", loop_stall_s=settings.health_loop_stall_s, poll_stall_s=settings.health_poll_stall_s)
    facts = {"group joined": False, "tables restored": False}
    for name in facts:
        health.require(name, lambda name=name: facts[name])  # type: ignore[misc]

    async def heartbeat() -> None:
        while True:
            health.beat()
            facts["group joined"] = app.consumer_generation_id > 0 and not app.rebalancing
            facts["tables restored"] = app.tables.recovery.completed.is_set()
            await asyncio.sleep(BEAT_INTERVAL_S)

    app.task(heartbeat)
    return health


def run_worker(settings: Settings) -> None:
    """Run one Faust worker until SIGTERM/SIGINT.

    Local table stores are kept only across a clean stop (``streams.local_state``): after a crash the worker
    restores its tables from the changelogs, as a new member of the group would.
    """
    datadir = settings.state_dir / settings.app_id
    if local_state.discard_unless_clean(datadir):
        log.warning("the last run did not stop cleanly: local tables discarded, restoring them from the changelogs")
    streams = build(settings)
    metrics.LABELS.configure(agencies=settings.metric_agencies.split(","))
    metrics.serve(settings.metrics_port, "worker", worker_health(streams, settings))
    if settings.metrics_port:
        sources = [
            streams.topics.dossier_events.name,
            streams.topics.dossier_events_repartition.name,
            streams.topics.subscription_changes.name,
        ]
        start_lag_exporter(settings, settings.app_id, sources)
    # JSON logs: keep the handler `hoso` configured; Faust's own set-up would print coloured text.
    keep_logging = {"override_logging": False} if settings.log_format == "json" else {}
    worker = faust.Worker(streams.app, loglevel=settings.log_level.lower(), quiet=True, **keep_logging)
    if not sys.stdout.isatty():
        worker.spinner = None  # its cursor escapes would land in container logs as garbage lines
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        worker.execute_from_commandline()
    except SystemExit as stopped:
        if stopped.code in (0, None):  # Faust stopped cleanly: producer flushed, offsets committed
            local_state.mark_clean_stop(datadir)
        raise
