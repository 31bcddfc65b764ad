"""What every agent family shares: the Faust app, its topics and tables, the rules engine and the pipeline.

Agent modules (``streams/agents/``) depend on this module and never on each other; ``streams.app`` builds one
``StreamsApp`` and hands it to each family's ``register``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import faust
import orjson

from hoso import metrics
from hoso.settings import Settings
from schemas import codec
from schemas.common import now_vn
from schemas.problems import Problem
from schemas.topics import CHAT_SEEN_TABLE, DOSSIER_HOLD_TABLE, DOSSIER_STATE_TABLE, FOLLOWERS_TABLE, Topics
from streams import followers as fol
from streams import template_catalogue as cat
from streams.batching import Batch, Pipeline
from streams.engine import Engine, Outcome
from streams.join import invalid_envelope
from streams.notify import NOTIFY
from streams.ratings import invite_for, invite_record
from streams.rules import Rules

log = logging.getLogger("hoso.streams")

TABLE_ROCKSDB_OPTIONS: dict[str, int] = {
    "write_buffer_size": 4 * 1024 * 1024,
    "max_write_buffer_number": 2,
    "block_cache_size": 8 * 1024 * 1024,
    "block_cache_compressed_size": 8 * 1024 * 1024,
}
"""RocksDB sizing per table partition. Faust's defaults (64 MiB write buffers ×3 and a 2 GiB block cache for
every partition of every table) let a worker's RSS grow past 1 GB with a million followers
(docs/performance.md); reads are served mostly from the OS page cache anyway."""

HANDLED_MARKERS = frozenset({DOSSIER_STATE_TABLE, CHAT_SEEN_TABLE})
"""Tables whose write says an event was handled (applied sequence and seen ids): the pipeline writes them
only after the event's other table writes are acknowledged (``streams.batching``)."""


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
    engine: Engine | None = None
    """The lifecycle rules engine, built once from settings and the template catalogue (``engine_for``)."""
    pipeline: Pipeline = field(init=False)
    """The batches in flight of every table-writing agent, shared so that their writes are applied in the
    order they were computed."""
    fanout_producer: Any = None
    """The producer broadcast fan-outs send their batches with (``streams.bulk_produce``); None: the agent
    starts its own. Tests put a recording one here."""

    def __post_init__(self) -> None:
        self.pipeline = Pipeline(self.app, self.tables, markers=HANDLED_MARKERS)

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


def engine_for(ctx: StreamsApp) -> Engine:
    """The rules engine of this app, built once (a bad catalogue or rule setting fails here, at start-up)."""
    if ctx.engine is None:
        rules = Rules.from_settings(ctx.settings)
        ctx.engine = Engine(rules=rules, catalogue=cat.load(ctx.settings.template_catalogue or None, NOTIFY))
    return ctx.engine


def stage_orphans(ctx: StreamsApp, batch: Batch, key: bytes, orphans: list[dict[str, Any]]) -> None:
    """Progress steps whose dossier never arrived: parked on the invalid-events topic with the reason, counted."""
    invalid = ctx.topic(ctx.topics.dossier_events_invalid.name, ctx.topics.dossier_events_invalid.partitions)
    wait = engine_for(ctx).rules.partial_wait
    for orphan in orphans:
        reason = Problem(
            "data.ma_ho_so",
            f"a progress step waited {wait} for its dossier, which never arrived (send DongBoHoSoMC for it first)",
        )
        record = invalid_envelope(
            key,
            orjson.dumps(orphan),
            [reason],
            topic=ctx.topics.dossier_events.name,
            partition=-1,
            offset=-1,
            now=ctx.clock(),
        )
        batch.send(invalid, key, record)
        metrics.EVENTS.labels("orphaned", str(orphan.get("source_system", "unknown"))).inc()
        log.warning("progress step for %r given up: its dossier never arrived", orphan["data"]["ma_ho_so"])


def stage(
    ctx: StreamsApp, batch: Batch, event: faust.EventT, key: bytes, out: Outcome, agency: str = "unknown"
) -> None:
    """Stage an outcome in the batch: its messages, then its table writes (applied after the acks)."""
    if out.state is not None and out.state_changed:
        batch.put(event, DOSSIER_STATE_TABLE, key, out.state.to_bytes())
    if out.followers_changed:
        batch.put(event, FOLLOWERS_TABLE, key, fol.encode(out.followers))
    if out.hold.is_empty():
        if batch.get(DOSSIER_HOLD_TABLE, key) is not None:
            batch.put(event, DOSSIER_HOLD_TABLE, key, None)
    else:
        batch.put(event, DOSSIER_HOLD_TABLE, key, out.hold.to_bytes())
    agency = out.state.source_system if out.state is not None else agency
    for flag in out.flags:
        metrics.COMPLIANCE_FLAGS.labels(flag.value, metrics.LABELS.agency(agency)).inc()
        log.warning("compliance flag %s from agency %s", flag.value, agency)
    if out.orphaned:
        stage_orphans(ctx, batch, key, out.orphaned)
    for reason in out.suppressed:
        metrics.NOTIFICATIONS_SUPPRESSED.labels(reason).inc()
    for kind in out.released:
        metrics.HELD_MESSAGES.labels(kind).inc()
    notifications = ctx.topic(ctx.topics.notifications.name, ctx.topics.notifications.partitions)
    invites = ctx.topic(ctx.topics.rating_invites.name, ctx.topics.rating_invites.partitions)
    for n in out.notifications:
        invite = invite_for(n, agency, ctx.clock())  # issue 20: a ZBS survey can be rated in Zalo itself
        if invite is not None:
            batch.send(invites, *invite_record(invite))
        batch.send(notifications, n.key.encode(), codec.dumps(n))
        metrics.NOTIFICATIONS_EMITTED.labels(n.trang_thai or "none", n.kind.value).inc()
