"""The Faust application: builds the app, its topics and tables, and registers each agent family.

Each family of agents lives in its own module with a ``register(ctx)`` function, so adding one (chat,
broadcasts, timers) is a new module and one line here. Tables are keyed by dossier code and
co-partitioned with the dossier and subscription topics, so every lookup is local to the worker.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import faust

from hoso import metrics
from hoso.kafka import clients as kafka_clients
from hoso.kafka.lag import start_lag_exporter
from hoso.settings import Settings
from schemas.common import now_vn
from schemas.topics import DOSSIER_STATE_TABLE, FOLLOWERS_TABLE, Topics, catalogue
from streams.batching import Pipeline

TABLE_ROCKSDB_OPTIONS: dict[str, int] = {
    "write_buffer_size": 4 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 * 1024 * 1024,
    "block_cache_compressed_size": 8 * 1024 * 1024,
}
"""RocksDB sizing per table partition. Faust's defaults (64 MiB write buffers ×3 and a 2 GiB block cache for
every partition of every table) let a worker's RSS grow past 1 GB with a million followers
(docs/performance.md); reads are served mostly from the OS page cache anyway."""


@dataclass
class StreamsApp:
    """The Faust app and the handles agents, tests and the CLI need."""

    app: faust.App
    settings: Settings
    topics: Topics
    agents: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    channels: dict[str, faust.TopicT] = field(default_factory=dict)
    clock: Callable[[], datetime] = now_vn
    """Where agents and timers read the time (tests replace it instead of sleeping)."""
    engine: Any = None
    """The lifecycle rules engine (``streams.engine.Engine``), built once from settings and the catalogue."""
    pipeline: Any = None
    """The batches in flight of every table-writing agent (``streams.batching.Pipeline``), shared so that
    their writes are applied in the order they were computed."""

    def topic(self, name: str, partitions: int) -> faust.TopicT:
        """A raw-bytes topic handle (our codecs are orjson + pydantic, not Faust's), created once per name."""
        if name not in self.channels:
            self.channels[name] = self.app.topic(
                name, partitions=partitions, key_serializer="raw", value_serializer="raw"
            )
        return self.channels[name]

    def table(self, name: str) -> faust.Table:
        """A bytes-to-bytes table co-partitioned with the dossier topic, created once per name."""
        if name not in self.tables:
            self.tables[name] = self.app.Table(
                name,
                default=None,
                partitions=self.settings.partitions,
                key_type=bytes,  # bytes means Faust's "raw" serializer: stored bytes = changelog bytes,
                value_type=bytes,  # which streams.batching relies on when it writes both itself
                options=dict(TABLE_ROCKSDB_OPTIONS),  # Faust's store pops keys from it: one copy per table
            )
        return self.tables[name]


def build(settings: Settings, *, store: str = "rocksdb://") -> StreamsApp:
    """Create the Faust app for ``settings`` (one per process; the worker calls it once)."""
    from streams.agents import broadcast as broadcast_agents
    from streams.agents import chat as chat_agents
    from streams.agents import dossier as dossier_agents
    from streams.agents import operator_api as chat_operator_api
    from streams.agents import timers as lifecycle_agents

    app = faust.App(
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
    )
    ctx = StreamsApp(
        app=app, settings=settings, topics=catalogue(settings.topic_prefix, settings.partitions, settings.app_id)
    )
    ctx.pipeline = Pipeline(app, ctx.tables)
    ctx.table(DOSSIER_STATE_TABLE)
    ctx.table(FOLLOWERS_TABLE)
    dossier_agents.register(ctx)
    lifecycle_agents.register(ctx)
    broadcast_agents.register(ctx)
    chat_agents.register(ctx)
    chat_operator_api.register(ctx)
    return ctx


PAYLOAD_LOGGERS = ("faust.topics", "faust.transport.drivers.aiokafka")
"""Faust loggers whose DEBUG lines print every record sent, table changelogs included (phone numbers, names):
held at INFO even when the worker runs at DEBUG."""


def run_worker(settings: Settings) -> None:
    """Run one Faust worker until SIGTERM/SIGINT."""
    (settings.state_dir / settings.app_id).mkdir(parents=True, exist_ok=True)
    streams = build(settings)
    metrics.serve(settings.metrics_port)
    if settings.metrics_port:
        sources = [streams.topics.dossier_events.name, streams.topics.subscription_changes.name]
        start_lag_exporter(settings, settings.app_id, sources)
    worker = faust.Worker(streams.app, loglevel=settings.log_level.lower(), quiet=True)
    for name in PAYLOAD_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)
    worker.execute_from_commandline()
