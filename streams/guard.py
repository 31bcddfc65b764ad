"""The per-record guard every agent uses: a record that cannot be handled is parked with its reason.

A Faust agent whose body raises exits, the worker stops, the same record is re-read after the restart and
the worker crash-loops: one bad record stops every dossier behind it. So each agent handles its records
one at a time inside ``guarded``; a record that is malformed or trips a bug goes to the invalid-records
topic (``dossier-events.invalid.v1``: the original bytes, where it came from, and why), and the agent goes
on with the next one.
"""

from __future__ import annotations

import logging
from datetime import datetime

import faust

from schemas.common import now_vn
from schemas.problems import Problem
from streams.batching import Batch
from streams.context import StreamsApp
from streams.join import invalid_envelope

log = logging.getLogger("hoso.streams.guard")


def envelope(record: faust.EventT, problems: list[Problem], now: datetime | None = None) -> bytes:
    """The invalid-topic record for ``record``."""
    msg = record.message
    return invalid_envelope(
        record.key,
        record.value,
        problems,
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        now=now or now_vn(),
    )


def problems_of(exc: BaseException) -> list[Problem]:
    """An unexpected error, as a problem an operator can read next to the record."""
    return [Problem("", f"internal error while processing: {type(exc).__name__}: {exc}")]


def park(ctx: StreamsApp, batch: Batch, record: faust.EventT, problems: list[Problem]) -> None:
    """Stage ``record`` for the invalid topic in ``batch`` (acknowledged before its offset is committed)."""
    topics = ctx.topics
    invalid = ctx.topic(topics.dossier_events_invalid.name, topics.dossier_events_invalid.partitions)
    msg = record.message
    log.warning("parking %s[%s]@%s on the invalid topic: %s", msg.topic, msg.partition, msg.offset, problems[0].message)
    batch.send(invalid, record.key, envelope(record, problems))


async def park_now(ctx: StreamsApp, record: faust.EventT, problems: list[Problem]) -> None:
    """``park`` for agents that do not batch: send and wait for the acknowledgement."""
    topics = ctx.topics
    invalid = ctx.topic(topics.dossier_events_invalid.name, topics.dossier_events_invalid.partitions)
    msg = record.message
    log.warning("parking %s[%s]@%s on the invalid topic: %s", msg.topic, msg.partition, msg.offset, problems[0].message)
    fut = await invalid.send(key=record.key, value=envelope(record, problems), force=True)
    await fut
